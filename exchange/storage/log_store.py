"""Queries over the access log tables: entries, stored tree nodes, checkpoints, hidden departments.

Reads only; appends go through `exchange.audit.log.AccessLog`, the one writer. Pages are
keyset pages on the log index, so page N costs the same as page 1 at any log size; the
export's reader on SQLite (`arrow_pages`) walks that index in one statement instead.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.audit.entry import AccessLogEntry, decode_entry
from exchange.audit.verify import LogRow
from exchange.storage import tables as t
from exchange.storage.filters import given

E = t.log_entries
# A pruned entry keeps its index, time and leaf hash; its body went to an archive.
PRUNED = b""
_CHUNK = 500


@dataclass(frozen=True)
class EntryFilter:
    """What an auditor asks for; empty fields match everything, times are [from_us, until_us)."""

    from_us: int = 0
    until_us: int = 0
    department: str = ""
    officer_id: str = ""
    dataset: str = ""
    subject_id: str = ""
    case_id: str = ""
    decision: str = ""
    reason: str = ""
    action: str = ""


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored: decoded metadata, its canonical bytes and its leaf hash."""

    entry: AccessLogEntry
    canonical: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    timestamp: int
    note: str


def _conditions(f: EntryFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a filter (each on an indexed or cheap column)."""
    equal = (
        (E.c.caller_department, f.department),
        (E.c.officer_id, f.officer_id),
        (E.c.dataset, f.dataset),
        (E.c.subject_id, f.subject_id),
        (E.c.case_id, f.case_id),
        (E.c.decision, f.decision),
        (E.c.reason, f.reason),
        (E.c.action, f.action),
    )
    return [sa.func.length(E.c.entry) > 0, *given(equal, time=E.c.time_us, since_us=f.from_us, until_us=f.until_us)]


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(decode_entry(row.entry), row.entry, row.leaf_hash)


async def query_entries(
    conn: AsyncConnection,
    f: EntryFilter,
    *,
    after: int | None = None,
    newest_first: bool = False,
    limit: int = 100,
    hide_hidden: bool = False,
) -> list[StoredEntry]:
    """One page of matching entries; `after` is the last index of the previous page."""
    where = _conditions(f)
    if hide_hidden:
        where.append(E.c.hidden_from_subject == sa.false())
    if after is not None:
        where.append(E.c.idx < after if newest_first else E.c.idx > after)
    order = E.c.idx.desc() if newest_first else E.c.idx.asc()
    query = sa.select(E.c.entry, E.c.leaf_hash).where(*where).order_by(order).limit(limit)
    return [_stored(row) for row in (await conn.execute(query)).all()]


async def entries_from(conn: AsyncConnection, first: int = 0) -> list[AccessLogEntry]:
    """Every entry still held from index ``first`` on (pruned ones left out), oldest first (tests, the demo)."""
    query = sa.select(E.c.entry).where(E.c.idx >= first, sa.func.length(E.c.entry) > 0).order_by(E.c.idx)
    return [decode_entry(row.entry) for row in (await conn.execute(query)).all()]


async def hourly_counts(conn: AsyncConnection, f: EntryFilter) -> list[tuple[int, str, str, int]]:
    """(hour start, department, decision, entries) of the entries a filter matches: the console's charts."""
    hour = E.c.time_us // 3_600_000_000
    query = (
        sa.select(hour.label("hour"), E.c.caller_department, E.c.decision, sa.func.count().label("n"))
        .where(*_conditions(f))
        .group_by(hour, E.c.caller_department, E.c.decision)
    )
    rows = (await conn.execute(query)).all()
    return [(int(r.hour) * 3_600_000_000, r.caller_department, r.decision, int(r.n)) for r in rows]


async def get_entry(conn: AsyncConnection, index: int) -> StoredEntry | None:
    """The entry at `index`, or None if there is none or it was pruned."""
    row = (await conn.execute(sa.select(E.c.entry, E.c.leaf_hash).where(E.c.idx == index))).first()
    if row is None or row.entry == PRUNED:
        return None
    return _stored(row)


async def read_nodes(conn: AsyncConnection, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Hashes of these perfect subtrees (level 0 from the leaf hashes, above from log_nodes)."""
    by_level: dict[int, set[int]] = {}
    for level, index in wanted:
        by_level.setdefault(level, set()).add(index)
    found: dict[tuple[int, int], bytes] = {}
    n = t.log_nodes
    upper = {level: sorted(ix) for level, ix in by_level.items() if level > 0}
    if 0 < sum(map(len, upper.values())) <= _CHUNK:
        # One proof's nodes (a few per level): one query for all levels above the leaves.
        clause = sa.or_(*(sa.and_(n.c.level == lv, n.c.idx.in_(ix)) for lv, ix in upper.items()))
        found.update(((r.level, r.idx), r.hash) for r in await conn.execute(sa.select(n).where(clause)))
        by_level = {0: by_level[0]} if 0 in by_level else {}
    for level, indices in by_level.items():
        ordered = sorted(indices)
        # Chunked: SQLite caps the number of bound parameters in one statement.
        for i in range(0, len(ordered), _CHUNK):
            chunk = ordered[i : i + _CHUNK]
            if level == 0:
                query = sa.select(E.c.idx, E.c.leaf_hash.label("hash")).where(E.c.idx.in_(chunk))
            else:
                query = sa.select(n.c.idx, n.c.hash).where(n.c.level == level, n.c.idx.in_(chunk))
            found.update(((level, r.idx), r.hash) for r in await conn.execute(query))
    return found


async def latest_checkpoint(conn: AsyncConnection) -> StoredCheckpoint | None:
    """The stored checkpoint of the largest tree."""
    c = t.checkpoints
    row = (await conn.execute(sa.select(c).order_by(c.c.size.desc()).limit(1))).first()
    return StoredCheckpoint(row.size, row.root_hash, row.timestamp, row.note) if row else None


async def has_entries(conn: AsyncConnection) -> bool:
    """Whether anything was ever appended (archived and pruned entries count: the head remembers them)."""
    size = (await conn.execute(sa.select(sa.func.max(t.log_head.c.size)))).scalar()
    return bool(size)


async def checkpoint_at(conn: AsyncConnection, size: int) -> StoredCheckpoint | None:
    """The stored checkpoint of exactly `size` entries."""
    c = t.checkpoints
    row = (await conn.execute(sa.select(c).where(c.c.size == size))).first()
    return StoredCheckpoint(row.size, row.root_hash, row.timestamp, row.note) if row else None


async def stream_rows(
    conn: AsyncConnection, *, start: int = 0, end: int | None = None, batch: int = 10_000
) -> AsyncIterator[list[LogRow]]:
    """Every stored row in index order, in batches (pruned rows carry empty entry bytes)."""
    after = start - 1
    while True:
        query = sa.select(E.c.idx, E.c.entry, E.c.leaf_hash).where(E.c.idx > after)
        if end is not None:
            query = query.where(E.c.idx < end)
        rows = (await conn.execute(query.order_by(E.c.idx).limit(batch))).all()
        if not rows:
            return
        yield list(map(LogRow._make, rows))
        after = rows[-1].idx


LogColumns = tuple[list[int], list[bytes], list[bytes]]
"""A page of stored rows column by column: indices, entry bytes (empty when pruned), leaf hashes."""


async def stream_columns(
    conn: AsyncConnection, *, start: int = 0, end: int | None = None, batch: int = 10_000
) -> AsyncIterator[LogColumns]:
    """`stream_rows` as columns, for readers that hand whole pages to Arrow (no object per row)."""
    after = start - 1
    query = sa.select(E.c.idx, E.c.entry, E.c.leaf_hash).where(E.c.idx > sa.bindparam("after"))
    if end is not None:
        query = query.where(E.c.idx < end)
    query = query.order_by(E.c.idx).limit(batch)
    while True:
        rows = (await conn.execute(query, {"after": after})).all()
        if not rows:
            return
        indices, entries, leaves = (list(column) for column in zip(*rows, strict=True))
        yield indices, entries, leaves
        after = indices[-1]


def read_only_uri(sqlite_file: str) -> str:
    """A SQLite URI opening the file read-only (SQLite refuses any write through it)."""
    return Path(sqlite_file).resolve().as_uri() + "?mode=ro"


@contextmanager
def arrow_pages(sqlite_file: str, *, end: int, batch: int = 20_000) -> Iterator[pa.RecordBatchReader]:
    """Columns idx, entry, leaf_hash of the rows below `end` in index order, read from a SQLite file into Arrow.

    SQLite's rows go into Arrow arrays in C (the ADBC driver), with no Python object per row; the file is
    opened read-only and read by one statement, so by one snapshot. Pages of `batch` rows.
    """
    query = (
        f"SELECT {E.c.idx.name}, CAST({E.c.entry.name} AS BLOB) AS {E.c.entry.name}, "
        f"CAST({E.c.leaf_hash.name} AS BLOB) AS {E.c.leaf_hash.name} "
        f"FROM {E.name} WHERE {E.c.idx.name} < ? ORDER BY {E.c.idx.name}"
    )
    with adbc_sqlite.connect(read_only_uri(sqlite_file)) as conn, conn.cursor() as cursor:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch)})
        cursor.execute(query, (end,))
        yield cursor.fetch_record_batch()


async def first_unpruned(conn: AsyncConnection) -> int:
    """The index of the oldest entry whose body is still in the live database."""
    pruned = (await conn.execute(sa.select(sa.func.max(E.c.idx)).where(E.c.entry == PRUNED))).scalar()
    return 0 if pruned is None else int(pruned) + 1


async def prune_before(conn: AsyncConnection, end: int) -> int:
    """Drop the bodies and personal columns of entries below `end`; the leaf hashes stay."""
    result = await conn.execute(
        E.update()
        .where(E.c.idx < end, E.c.entry != PRUNED)
        .values(entry=PRUNED, officer_id="", subject_id="", case_id="", reason="", dataset="")
    )
    return int(result.rowcount or 0)


# Departments whose accesses stay out of the citizen report, with the law that allows it.
HIDDEN_DEPARTMENTS = sa.select(t.log_hidden_departments.c.department, t.log_hidden_departments.c.legal_basis)


async def set_hidden(conn: AsyncConnection, department: str, legal_basis: str, set_by: str, now_us: int) -> None:
    """Mark a department's future accesses hidden from the citizen report."""
    h = t.log_hidden_departments
    await conn.execute(h.delete().where(h.c.department == department))
    await conn.execute(
        h.insert().values(department=department, legal_basis=legal_basis, set_by=set_by, set_at_us=now_us)
    )


async def clear_hidden(conn: AsyncConnection, department: str) -> None:
    h = t.log_hidden_departments
    await conn.execute(h.delete().where(h.c.department == department))


# --- the writer's statements (exchange.audit.log.AccessLog is the one writer) -------------------------------

_HEAD_ID = 1
# Held (transaction-scoped) by the replica signing a checkpoint; others skip or wait.
SIGNER_LOCK_ID = 0x45584C47


async def ensure_head(conn: AsyncConnection, empty_frontier: bytes) -> None:
    """Create the head row of an empty log, once."""
    head = (await conn.execute(sa.select(t.log_head.c.id).where(t.log_head.c.id == _HEAD_ID))).first()
    if head is None:
        await conn.execute(t.log_head.insert().values(id=_HEAD_ID, size=0, frontier=empty_frontier))


async def head_frontier(conn: AsyncConnection) -> bytes:
    """The stored right edge of the tree (its size and root follow from it)."""
    row = (await conn.execute(sa.select(t.log_head.c.frontier).where(t.log_head.c.id == _HEAD_ID))).one()
    return bytes(row.frontier)


async def lock_signer(conn: AsyncConnection, dialect: str, *, wait: bool) -> bool:
    """On PostgreSQL take the signer's advisory lock for this transaction, waiting for it or not (False: another
    replica holds it); elsewhere there is one process and nothing to take."""
    if dialect != "postgresql":
        return True
    if wait:
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": SIGNER_LOCK_ID})
        return True
    got = (await conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": SIGNER_LOCK_ID})).scalar()
    return bool(got)


async def put_checkpoint(conn: AsyncConnection, size: int, root_hash: bytes, timestamp: int, note: str) -> None:
    """Store the signed checkpoint of a tree size (a newer signature of the same size replaces the older)."""
    c = t.checkpoints.c
    existing = (await conn.execute(sa.select(c.size).where(c.size == size))).first()
    if existing is None:
        await conn.execute(
            t.checkpoints.insert().values(size=size, root_hash=root_hash, timestamp=timestamp, note=note)
        )
    else:
        await conn.execute(t.checkpoints.update().where(c.size == size).values(timestamp=timestamp, note=note))


def lock_head(conn: sa.Connection, dialect: str) -> tuple[int, bytes]:
    """In the write transaction: the log's size and frontier, the head row locked on PostgreSQL."""
    query = sa.select(t.log_head.c.size, t.log_head.c.frontier).where(t.log_head.c.id == _HEAD_ID)
    if dialect == "postgresql":
        query = query.with_for_update()
    head = conn.execute(query).one()
    return int(head.size), bytes(head.frontier)


def hidden_departments(conn: sa.Connection) -> set[str]:
    """In the write transaction: the departments whose accesses are hidden from citizens now."""
    return {row.department for row in conn.execute(HIDDEN_DEPARTMENTS)}


def append_entries(
    conn: sa.Connection,
    dialect: str,
    rows: Sequence[tuple[object, ...]],
    nodes: Sequence[tuple[object, ...]],
    size: int,
    frontier: bytes,
) -> None:
    """In the write transaction: the entries' rows (in the columns' order), the completed subtrees, the new head."""
    _insert(conn, dialect, t.log_entries, rows)
    if nodes:
        _insert(conn, dialect, t.log_nodes, nodes)
    conn.execute(t.log_head.update().where(t.log_head.c.id == _HEAD_ID).values(size=size, frontier=frontier))


def _insert_sql(dialect: str, table: sa.Table, rows: int = 1) -> str:
    """A plain INSERT of `rows` rows in the driver's own parameter style (no per-row processing in SQLAlchemy)."""
    names = [c.name for c in table.columns]
    if dialect != "sqlite":
        marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    row = "(" + ", ".join("?" * len(names)) + ")"
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES " + ", ".join([row] * rows)


# SQLite's default cap on bound parameters in one statement: 999 before 3.32, 32,766 since.
_SQLITE_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def _insert(conn: sa.Connection, dialect: str, table: sa.Table, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert the rows: on SQLite as multi-row statements, so the B-tree work of many rows is one call into
    SQLite (without Python's per-row bind/step loop, and without taking the GIL between rows)."""
    if dialect != "sqlite":
        conn.exec_driver_sql(_insert_sql(dialect, table), list(rows))
        return
    per_statement = _SQLITE_PARAMETERS // len(table.columns)
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        conn.exec_driver_sql(_multi_row_sql(table.name, len(chunk)), tuple(chain.from_iterable(chunk)))


@functools.lru_cache(maxsize=64)
def _multi_row_sql(table: str, rows: int) -> str:
    return _insert_sql("sqlite", t.metadata.tables[table], rows)
