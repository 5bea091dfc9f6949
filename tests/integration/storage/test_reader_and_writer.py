"""`Database.statements()` (the fetch path's reads) and `Database.write()` (the access log's transactions)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.storage import Database
from exchange.storage import tables as t
from exchange.storage.db import LoopReader
from exchange.testing import PG_URL, create_pg_schema, drop_pg_schema

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


def _insert_department(code: str, fail: bool = False) -> Callable[[sa.Connection], str]:
    def work(conn: sa.Connection) -> str:
        conn.execute(t.departments.insert().values(code=code, name=code, **_DEPARTMENT))
        if fail:
            raise RuntimeError("failed after the insert")
        return threading.current_thread().name

    return work


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_write_commits_all_or_nothing_and_is_seen_at_once(tmp_path: Path, backend: str, large: bool) -> None:
    schema = await create_pg_schema() if backend == "postgresql" else ""
    db = Database(PG_URL, schema=schema) if schema else Database(f"sqlite:///{tmp_path / 'exchange.db'}")
    await db.migrate()
    try:
        thread = await db.write(_insert_department("SAMR"), large=large)
        # A large one on SQLite runs on the writer thread, off the loop; the rest on the loop.
        assert (thread != threading.current_thread().name) == (large and backend == "sqlite")
        assert await _names(db) == ["SAMR"]
        with pytest.raises(RuntimeError):
            await db.write(_insert_department("PSB", fail=True), large=large)
        assert await _names(db) == ["SAMR"]  # rolled back

        # Writes through begin() and write() queue on the same database without losing either.
        async def through_begin(code: str) -> None:
            async with db.begin() as conn:
                await conn.execute(t.departments.insert().values(code=code, name=code, **_DEPARTMENT))

        await asyncio.gather(
            *(
                db.write(_insert_department(f"W{i}"), large=large) if i % 2 else through_begin(f"W{i}")
                for i in range(10)
            )
        )
        assert await _names(db) == sorted(["SAMR", *(f"W{i}" for i in range(10))])
    finally:
        await db.close()
        if schema:
            await drop_pg_schema(schema)
