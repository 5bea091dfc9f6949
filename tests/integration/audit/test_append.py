"""Concurrent appends are group-committed in order; an entry that cannot be encoded fails only its caller."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from catalog.errors import InvalidArgument
from exchange.audit.entry import AccessLogEntry, decode_entry
from exchange.audit.log import AccessLog, Receipt
from exchange.audit.merkle import leaf_hash, root_from_leaf_hashes
from exchange.storage import Database, log_store


async def test_one_unencodable_entry_fails_its_caller_and_the_rest_of_its_batch_is_written(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'log.db'}", synchronous="OFF")
    await db.migrate()
    log = AccessLog(db, origin="test/log", signer=None)
    await log.start()
    try:
        entries = [AccessLogEntry(request_id=f"r{i}", subject_id=f"s{i}") for i in range(40)]
        entries[17] = AccessLogEntry(request_id="bad", subject_id="\udc80")
        results = await asyncio.gather(*(log.append(e) for e in entries), return_exceptions=True)
        failed = results.pop(17)
        assert isinstance(failed, InvalidArgument) and failed.reason == "ACCESS_LOG_ENTRY_INVALID"
        receipts = [r for r in results if isinstance(r, Receipt)]
        assert sorted(r.index for r in receipts) == list(range(39))
        async with db.read() as conn:
            stored = [row for batch in [b async for b in log_store.stream_rows(conn)] for row in batch]
        written = [e.request_id for e in entries if e.request_id != "bad"]
        assert [decode_entry(row.entry).request_id for row in stored] == written
        assert [decode_entry(row.entry).index for row in stored] == list(range(39))
        assert all(row.stored_leaf_hash == leaf_hash(row.entry) for row in stored)
        assert await log.head() == (39, root_from_leaf_hashes([leaf_hash(row.entry) for row in stored]))
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
