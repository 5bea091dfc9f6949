"""The durable publisher: every event the hub publishes is a row of the outbox (storage.notification_store).

Webhook deliveries and Subscribe streams read the outbox, so an event survives a restart and is delivered
by whichever replica gets to it first. A publish on this replica wakes its waiting streams and deliverer at
once; other replicas' events are seen on their next poll (`notification_poll_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib

from exchange.events import Event
from exchange.storage import Database, notification_store


class OutboxPublisher:
    """Stores each event (and its pending webhook delivery) in one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._published = asyncio.Event()

    async def publish(self, event: Event) -> None:
        async with self.db.begin() as conn:
            await notification_store.append(conn, event)
        self._published.set()

    def wake(self) -> None:
        """Wake this replica's waiting streams and deliverer (something changed that they should look at)."""
        self._published.set()

    async def wait(self, seconds: float) -> None:
        """Return when this replica publishes something, or after `seconds` (to see other replicas' events)."""
        published = self._published
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(published.wait(), seconds)
        if published.is_set():
            # Each waiter sees the publish; the next wait starts afresh.
            self._published = asyncio.Event()
