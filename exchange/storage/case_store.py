"""Cases as the authorisation decision sees them (the cases package keeps the full record here too)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.auth.authz import CaseFacts
from exchange.storage import tables as t

OPEN_STATES = ("submitted", "accepted", "in_review", "awaiting_correction")


async def case_facts(conn: AsyncConnection, case_id: str) -> CaseFacts | None:
    """State, service item and involved departments of one case: what purpose binding checks."""
    row = (
        await conn.execute(
            sa.select(t.cases.c.service_item, t.cases.c.state, t.cases.c.lead_department).where(t.cases.c.id == case_id)
        )
    ).first()
    if row is None:
        return None
    members = (
        await conn.execute(sa.select(t.case_departments.c.department).where(t.case_departments.c.case_id == case_id))
    ).all()
    involved = (row.lead_department, *sorted(m.department for m in members if m.department != row.lead_department))
    return CaseFacts(case_id, row.service_item, row.state in OPEN_STATES, row.state, involved)
