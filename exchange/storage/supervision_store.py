"""What the supervision task has sent: one row per reminder, warning and escalation, claimed once.

The first replica to insert (kind, reference, stage) sends the event; every other insert of the same triple
finds it and sends nothing, so an event goes out once across restarts and replicas. Escalations are also
the record the hub's supervisors read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t
from exchange.storage.filters import given

S = t.supervision_events


@dataclass(frozen=True)
class SentEvent:
    """One event the supervision task sent (a reminder, a warning level, an escalation)."""

    kind: str
    reference: str
    stage: str
    department: str  # who was told
    owner: str  # whose limit it is (the department the event counts against)
    time_us: int
    data: Mapping[str, str | int]


async def claim(conn: AsyncConnection, event: SentEvent) -> bool:
    """Record ``event`` unless someone already did; True when this call claimed it (and so must send it)."""
    insert = postgresql.insert(S) if conn.dialect.name == "postgresql" else sqlite.insert(S)
    statement = (
        insert.values(
            kind=event.kind,
            reference=event.reference,
            stage=event.stage,
            department=event.department,
            owner=event.owner,
            time_us=event.time_us,
            data_json=json.dumps(dict(event.data), ensure_ascii=False, sort_keys=True),
        )
        .on_conflict_do_nothing(index_elements=[S.c.kind, S.c.reference, S.c.stage])
        .returning(S.c.kind)
    )
    return (await conn.execute(statement)).first() is not None


async def list_sent(
    conn: AsyncConnection,
    *,
    kind: str = "",
    owner: str = "",
    reference: str = "",
    since_us: int = 0,
    until_us: int = 0,
    limit: int = 1000,
) -> list[SentEvent]:
    """Sent events matching every filter given, oldest first."""
    equal = ((S.c.kind, kind), (S.c.owner, owner), (S.c.reference, reference))
    where = given(equal, time=S.c.time_us, since_us=since_us, until_us=until_us)
    query = sa.select(S).where(*where).order_by(S.c.time_us, S.c.reference, S.c.stage)
    rows = (await conn.execute(query.limit(limit))).all()
    return [
        SentEvent(r.kind, r.reference, r.stage, r.department, r.owner, r.time_us, json.loads(r.data_json)) for r in rows
    ]
