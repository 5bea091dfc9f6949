"""Locks that hold across hub replicas: PostgreSQL advisory locks, held by a transaction.

A transaction-level lock is released by commit or rollback, so a caller that is cancelled while holding it
cannot leave it behind on a pooled connection. On SQLite (one process) the in-process single-flight already
coalesces, and these locks are no-ops.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa

from exchange.storage.db import Database


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for these parts (NUL-separated, so parts cannot run together)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@asynccontextmanager
async def held_across_replicas(db: Database, *parts: str) -> AsyncIterator[None]:
    """Run the block while no other replica runs a block for the same parts (waits for it to finish)."""
    if db.dialect != "postgresql":
        yield
        return
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(*parts)})
        yield
