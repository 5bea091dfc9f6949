"""The events outbox, department webhooks and their deliveries (exchange.notifications).

Publishing an event writes its row and, when the department's webhook wants its kind, a pending delivery in
the same transaction. A replica claims a due delivery by moving its lease forward where the lease has run
out (one UPDATE, checked by its row count), so each attempt is made by one replica.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.events import Event, EventKind
from exchange.storage import tables as t

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"


@dataclass(frozen=True)
class StoredEvent:
    """An event with its place in the outbox."""

    id: int
    event: Event


@dataclass(frozen=True)
class Webhook:
    """A department's webhook: where its events go, how they are signed, which kinds it wants."""

    department: str
    url: str
    scheme: str
    secret: str  # hex; empty for Ed25519
    kinds: tuple[str, ...]  # empty: every kind
    updated_by: str
    updated_at_us: int

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to its department's webhook."""

    event_id: int
    department: str
    state: str
    attempts: int
    next_attempt_us: int
    last_error: str
    updated_at_us: int


def _event(row: Any) -> StoredEvent:
    data = json.loads(row.data_json)
    return StoredEvent(row.id, Event(EventKind(row.kind), row.department, row.reference, row.time_us, data))


async def append(conn: AsyncConnection, event: Event) -> int:
    """Store an event (and its pending delivery when the department's webhook wants it); its id."""
    result = await conn.execute(
        sa.insert(t.events)
        .values(
            kind=event.kind.value,
            department=event.department,
            reference=event.reference,
            time_us=event.time_us,
            data_json=json.dumps(dict(event.data), ensure_ascii=False, sort_keys=True),
        )
        .returning(t.events.c.id)
    )
    event_id = int(result.scalar_one())
    hook = await get_webhook(conn, event.department)
    if hook is not None and hook.wants(event.kind.value):
        await conn.execute(
            sa.insert(t.webhook_deliveries).values(
                event_id=event_id,
                department=event.department,
                state=PENDING,
                attempts=0,
                next_attempt_us=event.time_us,
                lease_until_us=0,
                last_error="",
                updated_at_us=event.time_us,
            )
        )
    return event_id


async def events_after(
    conn: AsyncConnection, department: str, after_id: int, kinds: Sequence[str], limit: int = 100
) -> list[StoredEvent]:
    """The department's events after `after_id`, oldest first, of the given kinds (all when empty)."""
    query = sa.select(t.events).where(t.events.c.department == department, t.events.c.id > after_id)
    if kinds:
        query = query.where(t.events.c.kind.in_(list(kinds)))
    rows = (await conn.execute(query.order_by(t.events.c.id).limit(limit))).all()
    return [_event(row) for row in rows]


async def get_event(conn: AsyncConnection, event_id: int) -> StoredEvent | None:
    row = (await conn.execute(sa.select(t.events).where(t.events.c.id == event_id))).first()
    return _event(row) if row is not None else None


async def last_event_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.max(t.events.c.id)))).scalar_one() or 0)


def _webhook(row: Any) -> Webhook:
    kinds = tuple(k for k in row.kinds.split(",") if k)
    return Webhook(row.department, row.url, row.scheme, row.secret, kinds, row.updated_by, row.updated_at_us)


async def get_webhook(conn: AsyncConnection, department: str) -> Webhook | None:
    row = (await conn.execute(sa.select(t.webhooks).where(t.webhooks.c.department == department))).first()
    return _webhook(row) if row is not None else None


async def put_webhook(conn: AsyncConnection, hook: Webhook) -> None:
    """Set (or replace) the department's webhook."""
    values = {
        "url": hook.url,
        "scheme": hook.scheme,
        "secret": hook.secret,
        "kinds": ",".join(hook.kinds),
        "updated_by": hook.updated_by,
        "updated_at_us": hook.updated_at_us,
    }
    changed = await conn.execute(
        sa.update(t.webhooks).where(t.webhooks.c.department == hook.department).values(**values)
    )
    if not changed.rowcount:
        await conn.execute(sa.insert(t.webhooks).values(department=hook.department, **values))


async def delete_webhook(conn: AsyncConnection, department: str) -> bool:
    """Remove the department's webhook; its pending deliveries stop (they become dead letters)."""
    result = await conn.execute(sa.delete(t.webhooks).where(t.webhooks.c.department == department))
    await conn.execute(
        sa.update(t.webhook_deliveries)
        .where(t.webhook_deliveries.c.department == department, t.webhook_deliveries.c.state == PENDING)
        .values(state=DEAD, last_error="webhook removed")
    )
    return bool(result.rowcount)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.event_id, row.department, row.state, row.attempts, row.next_attempt_us, row.last_error, row.updated_at_us
    )


async def due_deliveries(conn: AsyncConnection, now_us: int, limit: int) -> list[Delivery]:
    """Pending deliveries whose next attempt is due and whose lease ran out, oldest first."""
    d = t.webhook_deliveries.c
    rows = (
        await conn.execute(
            sa.select(t.webhook_deliveries)
            .where(d.state == PENDING, d.next_attempt_us <= now_us, d.lease_until_us <= now_us)
            .order_by(d.event_id)
            .limit(limit)
        )
    ).all()
    return [_delivery(row) for row in rows]


async def claim(conn: AsyncConnection, delivery: Delivery, now_us: int, lease_us: int) -> bool:
    """Take the delivery for one attempt (False when another replica took it first)."""
    d = t.webhook_deliveries.c
    result = await conn.execute(
        sa.update(t.webhook_deliveries)
        .where(
            d.event_id == delivery.event_id,
            d.state == PENDING,
            d.attempts == delivery.attempts,
            d.lease_until_us <= now_us,
        )
        .values(lease_until_us=now_us + lease_us)
    )
    return result.rowcount == 1


async def finish(
    conn: AsyncConnection, event_id: int, *, state: str, attempts: int, next_attempt_us: int, error: str, now_us: int
) -> None:
    """Record an attempt's outcome: delivered, pending again (at next_attempt_us) or dead."""
    await conn.execute(
        sa.update(t.webhook_deliveries)
        .where(t.webhook_deliveries.c.event_id == event_id)
        .values(
            state=state,
            attempts=attempts,
            next_attempt_us=next_attempt_us,
            lease_until_us=0,
            last_error=error[:2000],
            updated_at_us=now_us,
        )
    )


async def list_deliveries(conn: AsyncConnection, department: str, state: str, limit: int = 500) -> list[Delivery]:
    d = t.webhook_deliveries.c
    rows = (
        await conn.execute(
            sa.select(t.webhook_deliveries)
            .where(d.department == department, d.state == state)
            .order_by(d.event_id)
            .limit(limit)
        )
    ).all()
    return [_delivery(row) for row in rows]


async def redrive(conn: AsyncConnection, department: str, event_ids: Sequence[int], now_us: int) -> list[int]:
    """Put the department's dead letters (all when event_ids is empty) back in line, attempts from zero."""
    d = t.webhook_deliveries.c
    query = sa.select(d.event_id).where(d.department == department, d.state == DEAD)
    if event_ids:
        query = query.where(d.event_id.in_(list(event_ids)))
    ids = [int(row[0]) for row in (await conn.execute(query)).all()]
    if ids:
        await conn.execute(
            sa.update(t.webhook_deliveries)
            .where(d.event_id.in_(ids))
            .values(state=PENDING, attempts=0, next_attempt_us=now_us, lease_until_us=0, updated_at_us=now_us)
        )
    return ids
