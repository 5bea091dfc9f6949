"""The SQLite export reads the log through Arrow (ADBC) and writes the same file the page-by-page export writes."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from exchange.audit.entry import ENTRY_VERSION
from exchange.audit.export import ExportReader, ExportWriter
from exchange.audit.offline import _export_pages, _export_sqlite, archive_log, export_log
from exchange.audit.verify import LogRow
from exchange.storage import log_store
from exchange.storage import tables as t
from exchange.testing import HubFixture

from .logsetup import fill

E = t.log_entries
DAMAGED = ENTRY_VERSION + b'{"action":"exchange.fetch", not json'


async def _log_with_pruned_and_damaged_entries(hub: HubFixture) -> tuple[str, int]:
    """40 entries, the oldest 10 archived and pruned, entry 15 damaged; the note and size of a checkpoint over all."""
    await hub.add_department("SAMR")
    await fill(hub, 40)
    await hub.hub.access_log.sign_checkpoint(wait=True)
    archive = hub.settings.data_dir / "archive.parquet"
    await archive_log(hub.hub.db, 10, archive, hub.hub.signer.verifier(), origin=hub.settings.log_origin)
    async with hub.hub.db.begin() as conn:
        await conn.execute(E.update().where(E.c.idx == 15).values(entry=DAMAGED))
    signed = await hub.hub.access_log.sign_checkpoint(wait=True)
    return signed.note, signed.checkpoint.size


async def _stored_rows(hub: HubFixture) -> list[LogRow]:
    async with hub.hub.db.read() as conn:
        rows = (await conn.execute(sa.select(E.c.idx, E.c.entry, E.c.leaf_hash).order_by(E.c.idx))).all()
    return [LogRow(idx, entry, leaf) for idx, entry, leaf in rows]


async def test_the_arrow_export_writes_the_table_the_paged_export_writes(hub: HubFixture, tmp_path: Path) -> None:
    note, size = await _log_with_pruned_and_damaged_entries(hub)
    sqlite_file = hub.hub.db.sqlite_file
    assert sqlite_file is not None
    reference, paged, exported = tmp_path / "reference.parquet", tmp_path / "paged.parquet", tmp_path / "log.parquet"
    with ExportWriter(reference, note) as writer:
        await _export_pages(hub.hub.db, size, writer)
    # Pages of 7 rows: pruned, damaged and plain pages each take their own path, with the read-ahead thread.
    with ExportWriter(paged, note) as writer:
        _export_sqlite(sqlite_file, size, writer, page_rows=7)
    written = await export_log(hub.hub.db, exported)

    assert written.end == size
    expected = pq.read_table(reference)
    for path in (paged, exported):
        table = pq.read_table(path)
        assert table.schema.equals(expected.schema, check_metadata=True)
        assert table.equals(expected)
    assert list(ExportReader(exported).rows()) == await _stored_rows(hub)
    table = pq.read_table(exported)
    assert table.column("entry")[3].as_py() == log_store.PRUNED and table.column("entry")[15].as_py() == DAMAGED
    assert table.column("action")[15].as_py() == "" and table.column("action")[16].as_py() == "exchange.fetch"


async def test_the_arrow_reader_opens_the_database_read_only(hub: HubFixture, tmp_path: Path) -> None:
    await hub.add_department("SAMR")
    await fill(hub, 12)
    sqlite_file = hub.hub.db.sqlite_file
    assert sqlite_file is not None
    copy = tmp_path / "copy.db"
    with sqlite3.connect(sqlite_file) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    with log_store.arrow_pages(str(copy), end=10, batch=4) as pages:
        rows = pages.read_all()
    assert rows.column("idx").to_pylist() == list(range(10))
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    with (
        adbc_sqlite.connect(log_store.read_only_uri(str(copy))) as conn,
        conn.cursor() as cursor,
        pytest.raises(adbc_sqlite.Error, match="readonly"),
    ):
        cursor.execute(f"DELETE FROM {E.name}")
