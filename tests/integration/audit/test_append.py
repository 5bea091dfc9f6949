"""Concurrent appends are group-committed in order; an entry that cannot be encoded fails only its caller."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from exchange.audit.entry import AccessLogEntry, decode_entry
from exchange.audit.log import AccessLog, Receipt
from exchange.audit.merkle import leaf_hash, root_from_leaf_hashes
from exchange.storage import Database, log_store


async def test_an_unencodable_value_is_cleaned_and_its_batch_is_written_whole(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'log.db'}", synchronous="OFF")
    await db.migrate()
    log = AccessLog(db, origin="test/log", signer=None)
    await log.start()
    try:
        entries = [AccessLogEntry(request_id=f"r{i}", subject_id=f"s{i}") for i in range(40)]
        # A lone surrogate cannot be encoded as UTF-8: the recorder replaces it rather than fail anyone.
        entries[17] = AccessLogEntry(request_id="odd", subject_id="\udc80")
        results = await asyncio.gather(*(log.append(e) for e in entries), return_exceptions=True)
        assert [r.index for r in results if isinstance(r, Receipt)] == list(range(40))
        async with db.read() as conn:
            stored = [row for batch in [b async for b in log_store.stream_rows(conn)] for row in batch]
        assert [decode_entry(row.entry).request_id for row in stored] == [e.request_id for e in entries]
        assert decode_entry(stored[17].entry).subject_id == "\ufffd"
        assert [decode_entry(row.entry).index for row in stored] == list(range(40))
        assert all(row.stored_leaf_hash == leaf_hash(row.entry) for row in stored)
        assert await log.head() == (40, root_from_leaf_hashes([leaf_hash(row.entry) for row in stored]))
    finally:
        await log.close()
        await db.close()


async def test_close_writes_every_entry_already_appended(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'log.db'}", synchronous="OFF")
    await db.migrate()
    log = AccessLog(db, origin="test/log", signer=None, max_batch=7)
    await log.start()
    tasks = [asyncio.create_task(log.append(AccessLogEntry(request_id=f"r{i}"))) for i in range(50)]
    await asyncio.sleep(0)
    await log.close()
    assert all(task.done() for task in tasks)
    assert sorted(task.result().index for task in tasks) == list(range(50))
    assert log.batches >= 50 // 7
    with pytest.raises(Exception, match="not running"):
        await log.append(AccessLogEntry(request_id="late"))
    await db.close()
