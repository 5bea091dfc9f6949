"""Cache invalidation across replicas: a change made on one hub process is announced, every other one
drops its caches at once.

On PostgreSQL this is NOTIFY on one channel per database schema (so tenants and tests sharing a server do
not hear each other) and a LISTEN connection per process that reconnects when it is lost. Each process also
keeps its periodic reload as the fallback for a notification missed while it was reconnecting. SQLite
serves one process, which invalidates its own caches directly, so publishing there does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg
import sqlalchemy as sa

from exchange.storage.db import Database

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0
# NOTIFY payloads are at most 8000 bytes; a department code or "" is all we send.
MAX_PAYLOAD = 200


class ChangeFeed:
    """Publishes that the registry changed (naming a department or not) and delivers others' changes."""

    def __init__(self, db: Database, on_change: Callable[[str], Awaitable[None]]) -> None:
        self.db = db
        self.on_change = on_change
        self.channel = f"exchange_changes_{db.schema or 'public'}"
        self.enabled = db.dialect == "postgresql"
        self.connected = asyncio.Event()

    async def publish(self, payload: str = "") -> None:
        """Tell every replica (this one included) to drop its caches; `payload` names a department, or ""."""
        if not self.enabled:
            return
        async with self.db.begin() as conn:
            await conn.execute(
                sa.text("SELECT pg_notify(:channel, :payload)"),
                {
                    "channel": self.channel,
                    "payload": payload[:MAX_PAYLOAD],
                },
            )

    async def listen_forever(self) -> None:
        """Hold a LISTEN connection, reconnecting when it is lost; run as a task, cancelled at close."""
        if not self.enabled:
            return
        dsn = "postgresql://" + self.db.url.split("://", 1)[1]
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("change feed: cannot connect (%s); retrying", error)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            try:
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                await connection.add_listener(self.channel, self._deliver)
                self.connected.set()
                await lost.wait()
                log.warning("change feed: the LISTEN connection was lost; reconnecting")
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await connection.close()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        task = asyncio.get_running_loop().create_task(self._apply(payload))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _apply(self, payload: str) -> None:
        try:
            await self.on_change(payload)
        except Exception as error:  # the periodic reload will catch up; one failure must not stop the feed
            log.warning("change feed: could not apply a change (%s)", error)
