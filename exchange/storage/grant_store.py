"""Grants and access requests, as rows. Grants are read from the database on every request, never cached,
so a revocation bites on the next request on every replica. The mapping to the policy's `Grant` and to
`AccessRequest` is the application's (`exchange.app.grant_records`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t
from exchange.storage.db import Reader
from exchange.storage.filters import given

Row = sa.Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class GrantQuery:
    """Which grants a list holds: every filter given must match; oldest first, one page."""

    consumer: str = ""
    dataset: str = ""
    # A department: the grants it holds and the grants on its own datasets.
    visible_to: str = ""
    status: str = ""
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class AccessRequestQuery:
    """Which access requests a list holds: every filter given must match; oldest first, one page."""

    owner: str = ""
    consumer: str = ""
    # A department: the requests it made and the requests made to it.
    either_party: str = ""
    status: str = ""
    # Only requests whose answer was due before this time (0: any).
    due_before_us: int = 0
    offset: int = 0
    limit: int = 100


async def insert_grant(conn: AsyncConnection, columns: Mapping[str, object]) -> None:
    await conn.execute(t.grants.insert().values(**columns))


async def get_grant(conn: AsyncConnection, grant_id: str) -> Row | None:
    return (await conn.execute(sa.select(t.grants).where(t.grants.c.id == grant_id))).first()


# Built once: every fetch runs it (see `case_store._CASE_FACTS_AND_ITEM_SPEC`).
_GRANTS_FOR = sa.select(t.grants).where(
    t.grants.c.consumer == sa.bindparam("consumer"), t.grants.c.dataset == sa.bindparam("dataset")
)


async def grants_for(conn: Reader, consumer: str, dataset: str) -> list[Row]:
    """Every grant (live or not) of one consumer on one dataset; the decision tells them apart."""
    return list((await conn.execute(_GRANTS_FOR, {"consumer": consumer, "dataset": dataset})).all())


async def list_grants(conn: AsyncConnection, where: GrantQuery) -> list[Row]:
    g = t.grants.c
    conditions = given(((g.consumer, where.consumer), (g.dataset, where.dataset), (g.status, where.status)))
    if where.visible_to:
        owned = sa.select(t.datasets.c.code).where(t.datasets.c.owner == where.visible_to)
        conditions.append(sa.or_(g.consumer == where.visible_to, g.dataset.in_(owned)))
    page = sa.select(t.grants).where(*conditions).order_by(g.created_at_us).offset(where.offset).limit(where.limit)
    return list((await conn.execute(page)).all())


async def revoke_grant(conn: AsyncConnection, grant_id: str, now_us: int, reason: str, *, status: str) -> None:
    await conn.execute(
        t.grants.update()
        .where(t.grants.c.id == grant_id)
        .values(status=status, revoked_at_us=now_us, revoke_reason=reason)
    )


async def latest_request_status(conn: Reader, consumer: str, dataset: str) -> str:
    """Status of the newest access request of `consumer` for `dataset` ('' when none)."""
    row = (
        await conn.execute(
            sa.select(t.access_requests.c.status)
            .where(t.access_requests.c.consumer == consumer, t.access_requests.c.dataset == dataset)
            .order_by(t.access_requests.c.requested_at_us.desc())
            .limit(1)
        )
    ).first()
    return str(row.status) if row else ""


# --- access requests -------------------------------------------------------------------------------


async def insert_access_request(conn: AsyncConnection, columns: Mapping[str, object]) -> None:
    await conn.execute(t.access_requests.insert().values(**columns))


async def get_access_request(conn: AsyncConnection, request_id: str) -> Row | None:
    return (await conn.execute(sa.select(t.access_requests).where(t.access_requests.c.id == request_id))).first()


async def update_access_request(
    conn: AsyncConnection, request_id: str, columns: Mapping[str, object], *, only_if_status: str = ""
) -> bool:
    """Update one request (only while its status is still ``only_if_status``, when given); False if none was."""
    c = t.access_requests.c
    query = t.access_requests.update().where(c.id == request_id)
    if only_if_status:
        query = query.where(c.status == only_if_status)
    result = await conn.execute(query.values(**columns))
    return bool(result.rowcount)


async def list_access_requests(conn: AsyncConnection, where: AccessRequestQuery) -> list[Row]:
    c = t.access_requests.c
    equal = ((c.owner, where.owner), (c.consumer, where.consumer), (c.status, where.status))
    conditions = given(equal, time=c.answer_due_us, until_us=where.due_before_us)
    if where.either_party:
        conditions.append(sa.or_(c.owner == where.either_party, c.consumer == where.either_party))
    query = sa.select(t.access_requests).where(*conditions)
    page = query.order_by(c.requested_at_us, c.id).offset(where.offset).limit(where.limit)
    return list((await conn.execute(page)).all())
