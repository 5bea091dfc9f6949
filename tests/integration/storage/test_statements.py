"""`Database.statements()`: the fetch path's reads see every commit at once and hold nothing open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from exchange.storage import Database
from exchange.storage import tables as t
from exchange.storage.db import LoopReader

_DEPARTMENT = {"status": "active", "spec_json": "{}", "registered_at_us": 1, "updated_at_us": 1}


async def _names(db: Database) -> list[str]:
    async with db.statements() as reader:
        rows = (await reader.execute(sa.select(t.departments.c.code).order_by(t.departments.c.code))).all()
    return [r.code for r in rows]


async def test_statements_see_each_commit_at_once_and_block_no_checkpoint(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'exchange.db'}")
    await db.migrate()
    try:
        async with db.statements() as reader:
            assert isinstance(reader, LoopReader)  # SQLite: on the loop's thread, no worker thread
        assert await _names(db) == []
        for code in ("SAMR", "PSB"):
            async with db.begin() as conn:
                await conn.execute(t.departments.insert().values(code=code, name=code, **_DEPARTMENT))
            assert code in await _names(db)  # the very next statement sees the commit
        # No read transaction is left open on the shared connection: a full checkpoint completes.
        with sqlite3.connect(tmp_path / "exchange.db") as other:
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        other.close()
        assert busy == 0
    finally:
        await db.close()
