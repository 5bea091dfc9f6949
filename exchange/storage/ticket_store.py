"""Correction tickets (校核纠错): one row per ticket, opened by a receiving department, answered by the issuer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t
from exchange.storage.filters import given
from exchange.ticket_record import Ticket

T = t.correction_tickets

OPEN = "open"
ANSWERED = "answered"


@dataclass(frozen=True, kw_only=True)
class StoredTicket(Ticket):
    """A ticket as stored (exchange.tickets gives it its meaning): also whose data the material holds."""

    subject_id: str


def _row(r: Any) -> StoredTicket:
    return StoredTicket(
        r.id,
        r.dataset,
        r.key,
        r.case_id,
        r.material_version,
        r.opened_by_department,
        r.opened_by,
        r.issuer,
        tuple(json.loads(r.fields_json)),
        r.reason,
        r.evidence_text,
        r.evidence_digest,
        r.state,
        r.answer,
        r.answer_reason,
        r.answered_by,
        r.opened_at_us,
        r.answer_due_us,
        r.answered_at_us,
        bool(r.answered_late),
        tuple(json.loads(r.notified_cases_json)),
        subject_id=r.subject_id,
    )


def _values(ticket: StoredTicket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "dataset": ticket.dataset,
        "key": ticket.key,
        "subject_id": ticket.subject_id,
        "case_id": ticket.case_id,
        "material_version": ticket.material_version,
        "opened_by_department": ticket.opened_by_department,
        "opened_by": ticket.opened_by,
        "issuer": ticket.issuer,
        "fields_json": json.dumps(list(ticket.fields), ensure_ascii=False),
        "reason": ticket.reason,
        "evidence_text": ticket.evidence_text,
        "evidence_digest": ticket.evidence_digest,
        "state": ticket.state,
        "answer": ticket.answer,
        "answer_reason": ticket.answer_reason,
        "answered_by": ticket.answered_by,
        "opened_at_us": ticket.opened_at_us,
        "answer_due_us": ticket.answer_due_us,
        "answered_at_us": ticket.answered_at_us,
        "answered_late": ticket.answered_late,
        "notified_cases_json": json.dumps(list(ticket.notified_cases)),
    }


async def insert(conn: AsyncConnection, ticket: StoredTicket) -> None:
    await conn.execute(sa.insert(T).values(**_values(ticket)))


async def get(conn: AsyncConnection, ticket_id: str) -> StoredTicket | None:
    row = (await conn.execute(sa.select(T).where(T.c.id == ticket_id))).first()
    return _row(row) if row is not None else None


async def answer(conn: AsyncConnection, ticket: StoredTicket) -> bool:
    """Store the answer of an open ticket; False when someone answered it first."""
    values = _values(ticket)
    changed = await conn.execute(
        sa.update(T)
        .where(T.c.id == ticket.id, T.c.state == OPEN)
        .values(**{k: values[k] for k in ("state", "answer", "answer_reason", "answered_by", "answered_at_us")})
        .values(answered_late=ticket.answered_late, notified_cases_json=values["notified_cases_json"])
    )
    return bool(changed.rowcount)


async def list_tickets(
    conn: AsyncConnection,
    *,
    department: str = "",
    opened_by: str = "",
    issuer: str = "",
    dataset: str = "",
    state: str = "",
    since_us: int = 0,
    until_us: int = 0,
    limit: int = 1000,
) -> list[StoredTicket]:
    """Tickets matching every filter given (department: opened by it or issued by it), newest first."""
    equal = ((T.c.opened_by_department, opened_by), (T.c.issuer, issuer), (T.c.dataset, dataset), (T.c.state, state))
    where = given(equal, time=T.c.opened_at_us, since_us=since_us, until_us=until_us)
    if department:
        where.append(sa.or_(T.c.opened_by_department == department, T.c.issuer == department))
    query = sa.select(T).where(*where).order_by(T.c.opened_at_us.desc(), T.c.id)
    return [_row(r) for r in (await conn.execute(query.limit(limit))).all()]
