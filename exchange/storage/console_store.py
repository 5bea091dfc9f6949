"""Web console accounts, sessions and failed sign-ins."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t


@dataclass(frozen=True)
class ConsoleUser:
    """A person who signs in to the console: one role, acting for one department."""

    username: str
    password_hash: str
    role: str
    department: str
    display_name: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class ConsoleSession:
    username: str
    csrf_token: str
    expires_at_us: int


async def put_user(conn: AsyncConnection, user: ConsoleUser, now_us: int) -> bool:
    """Insert or replace an account; True when it was new."""
    values = {
        "password_hash": user.password_hash,
        "role": user.role,
        "department": user.department,
        "display_name": user.display_name,
        "disabled": user.disabled,
    }
    where = t.console_users.c.username == user.username
    found = (await conn.execute(sa.select(t.console_users.c.username).where(where))).first()
    if found:
        await conn.execute(t.console_users.update().where(where).values(**values))
    else:
        await conn.execute(t.console_users.insert().values(username=user.username, created_at_us=now_us, **values))
    return found is None


async def get_user(conn: AsyncConnection, username: str) -> ConsoleUser | None:
    row = (await conn.execute(sa.select(t.console_users).where(t.console_users.c.username == username))).first()
    if row is None:
        return None
    return ConsoleUser(row.username, row.password_hash, row.role, row.department, row.display_name, row.disabled)


async def list_users(conn: AsyncConnection) -> list[ConsoleUser]:
    rows = (await conn.execute(sa.select(t.console_users).order_by(t.console_users.c.username))).all()
    return [ConsoleUser(r.username, r.password_hash, r.role, r.department, r.display_name, r.disabled) for r in rows]


async def set_disabled(conn: AsyncConnection, username: str, disabled: bool) -> None:
    """Disable (or enable) an account; a disabled account's sessions end at once."""
    where = t.console_users.c.username == username
    await conn.execute(t.console_users.update().where(where).values(disabled=disabled))
    if disabled:
        await conn.execute(t.console_sessions.delete().where(t.console_sessions.c.username == username))


async def delete_user(conn: AsyncConnection, username: str) -> None:
    await conn.execute(t.console_sessions.delete().where(t.console_sessions.c.username == username))
    await conn.execute(t.console_users.delete().where(t.console_users.c.username == username))


async def set_password_hash(conn: AsyncConnection, username: str, password_hash: str) -> None:
    await conn.execute(
        t.console_users.update().where(t.console_users.c.username == username).values(password_hash=password_hash)
    )


async def add_session(conn: AsyncConnection, token_hash: str, session: ConsoleSession, now_us: int) -> None:
    await conn.execute(
        t.console_sessions.insert().values(
            token_hash=token_hash,
            username=session.username,
            csrf_token=session.csrf_token,
            created_at_us=now_us,
            expires_at_us=session.expires_at_us,
        )
    )


async def get_session(conn: AsyncConnection, token_hash: str, now_us: int) -> ConsoleSession | None:
    row = (
        await conn.execute(
            sa.select(t.console_sessions).where(
                t.console_sessions.c.token_hash == token_hash, t.console_sessions.c.expires_at_us > now_us
            )
        )
    ).first()
    return ConsoleSession(row.username, row.csrf_token, row.expires_at_us) if row else None


async def delete_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(t.console_sessions.delete().where(t.console_sessions.c.token_hash == token_hash))


async def delete_expired_sessions(conn: AsyncConnection, now_us: int) -> None:
    await conn.execute(t.console_sessions.delete().where(t.console_sessions.c.expires_at_us <= now_us))


async def add_failure(conn: AsyncConnection, username: str, address: str, now_us: int) -> None:
    await conn.execute(t.console_signin_failures.insert().values(username=username, address=address, time_us=now_us))


async def count_failures(conn: AsyncConnection, username: str, address: str, since_us: int) -> int:
    f = t.console_signin_failures.c
    query = (
        sa.select(sa.func.count())
        .select_from(t.console_signin_failures)
        .where(f.username == username, f.address == address, f.time_us > since_us)
    )
    return int((await conn.execute(query)).scalar_one())


async def clear_failures(conn: AsyncConnection, username: str, address: str) -> None:
    f = t.console_signin_failures.c
    await conn.execute(t.console_signin_failures.delete().where(f.username == username, f.address == address))


async def counts(conn: AsyncConnection, department: str = "") -> dict[str, int]:
    """What the home page shows: datasets, departments, pending access requests and cases (of one owner if given)."""

    async def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        for clause in where:
            query = query.where(clause)
        return int((await conn.execute(query)).scalar_one())

    own_ds = [t.datasets.c.owner == department] if department else []
    own_rq = [t.access_requests.c.owner == department] if department else []
    members = sa.select(t.case_departments.c.case_id).where(t.case_departments.c.department == department)
    own_cases = [t.cases.c.id.in_(members)] if department else []
    return {
        "datasets": await count(t.datasets, t.datasets.c.is_current, *own_ds),
        "departments": await count(t.departments),
        "requests": await count(t.access_requests, t.access_requests.c.status == "pending", *own_rq),
        "cases": await count(t.cases, *own_cases),
    }
