"""Role sets the hub holds for departments and single officers (exchange/auth/held_roles.py decides)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.auth.held_roles import RoleSet
from exchange.auth.identity import Role
from exchange.storage import tables as t
from exchange.storage.db import Reader

_KNOWN = {r.value: r for r in Role}


def _where(department: str, officer_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(t.department_roles.c.department == department, t.department_roles.c.officer_id == officer_id)


async def put_role_set(conn: AsyncConnection, role_set: RoleSet) -> None:
    """Record (or replace) the roles of a department or of one officer of it."""
    values = {
        "roles": ",".join(sorted(r.value for r in role_set.roles)),
        "set_by": role_set.set_by,
        "set_at_us": role_set.set_at_us,
    }
    where = _where(role_set.department, role_set.officer_id)
    if (await conn.execute(sa.select(t.department_roles.c.department).where(where))).first():
        await conn.execute(t.department_roles.update().where(where).values(**values))
    else:
        await conn.execute(
            t.department_roles.insert().values(department=role_set.department, officer_id=role_set.officer_id, **values)
        )


async def delete_role_set(conn: AsyncConnection, department: str, officer_id: str) -> None:
    """Forget a recorded set: the department returns to its default, the officer to its department's."""
    await conn.execute(t.department_roles.delete().where(_where(department, officer_id)))


async def list_role_sets(conn: Reader, department: str | None = None) -> list[RoleSet]:
    """Every recorded set (or one department's), department-wide first."""
    query = sa.select(t.department_roles).order_by(t.department_roles.c.department, t.department_roles.c.officer_id)
    if department is not None:
        query = query.where(t.department_roles.c.department == department)
    rows = (await conn.execute(query)).all()
    # A name this version does not know (stored by a newer one) is held by nobody here.
    return [
        RoleSet(
            r.department,
            r.officer_id,
            frozenset(_KNOWN[n] for n in r.roles.split(",") if n in _KNOWN),
            r.set_by,
            r.set_at_us,
        )
        for r in rows
    ]
