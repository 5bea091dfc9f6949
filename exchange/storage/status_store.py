"""Licence status the hub last saw, and the flags it raises on open cases holding a licence that changed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t


@dataclass(frozen=True)
class HeldLicence:
    """A licence (dataset, key) held as a current material by an open case, and the case's departments."""

    case_id: str
    dataset: str
    key: str
    departments: tuple[str, ...]


async def held_licences(
    conn: AsyncConnection, open_states: Collection[str], *, dataset: str = "", key: str = ""
) -> list[HeldLicence]:
    """Current materials of cases in `open_states` (one licence when dataset and key are given)."""
    m, c = t.case_materials.c, t.cases.c
    query = (
        sa.select(m.case_id, m.dataset, m.key)
        .join(t.cases, c.id == m.case_id)
        .where(m.is_current.is_(True), c.state.in_(list(open_states)))
    )
    if dataset:
        query = query.where(m.dataset == dataset, sa.func.upper(m.key) == key.upper())
    rows = (await conn.execute(query.order_by(m.case_id, m.dataset))).all()
    found: list[HeldLicence] = []
    for case_id, ds, k in rows:
        found.append(HeldLicence(case_id, ds, k, tuple(await departments_of(conn, case_id))))
    return found


async def departments_of(conn: AsyncConnection, case_id: str) -> list[str]:
    """The case's departments, lead first."""
    d = t.case_departments.c
    rows = (await conn.execute(sa.select(d.department, d.role).where(d.case_id == case_id))).all()
    return [r.department for r in sorted(rows, key=lambda r: (r.role != "lead", r.department))]


async def last_status(conn: AsyncConnection, dataset: str, key: str) -> str | None:
    s = t.licence_states.c
    return (
        await conn.execute(sa.select(s.status_code).where(s.dataset == dataset, s.key == key.upper()))
    ).scalar_one_or_none()


async def set_status(conn: AsyncConnection, dataset: str, key: str, status_code: str, now_us: int) -> None:
    s = t.licence_states.c
    changed = await conn.execute(
        sa.update(t.licence_states)
        .where(s.dataset == dataset, s.key == key.upper())
        .values(status_code=status_code, checked_at_us=now_us)
    )
    if not changed.rowcount:
        await conn.execute(
            sa.insert(t.licence_states).values(
                dataset=dataset, key=key.upper(), status_code=status_code, checked_at_us=now_us
            )
        )


async def raise_flag(
    conn: AsyncConnection,
    case_id: str,
    dataset: str,
    key: str,
    *,
    status_code: str,
    previous_code: str,
    source: str,
    now_us: int,
) -> None:
    """Flag the case (the newest change replaces an older flag on the same licence)."""
    f = t.case_flags.c
    values = {"status_code": status_code, "previous_code": previous_code, "source": source, "raised_at_us": now_us}
    changed = await conn.execute(
        sa.update(t.case_flags).where(f.case_id == case_id, f.dataset == dataset, f.key == key).values(**values)
    )
    if not changed.rowcount:
        await conn.execute(sa.insert(t.case_flags).values(case_id=case_id, dataset=dataset, key=key, **values))


async def list_flags(
    conn: AsyncConnection, *, case_id: str = "", department: str = ""
) -> list[tuple[str, str, str, str, str, str, int]]:
    """Flags of one case, or of the cases of one department (every flag when both are empty), newest first."""
    f = t.case_flags.c
    query = sa.select(f.case_id, f.dataset, f.key, f.status_code, f.previous_code, f.source, f.raised_at_us)
    if case_id:
        query = query.where(f.case_id == case_id)
    if department:
        d = t.case_departments.c
        query = query.where(f.case_id.in_(sa.select(d.case_id).where(d.department == department)))
    rows = (await conn.execute(query.order_by(f.raised_at_us.desc(), f.case_id))).all()
    return [tuple(r) for r in rows]
