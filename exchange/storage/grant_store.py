"""Grants: read on every request, so a revocation bites on the next request on every replica."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.auth.authz import Grant, GrantStatus
from exchange.storage import tables as t


def _grant(row: sa.Row[tuple[object, ...]]) -> Grant:
    return Grant(
        id=row.id,
        consumer=row.consumer,
        dataset=row.dataset,
        fields=tuple(json.loads(row.fields_json)),
        service_items=tuple(json.loads(row.service_items_json)),
        valid_from_us=row.valid_from_us,
        valid_until_us=row.valid_until_us,
        rate_per_minute=row.rate_per_minute,
        status=GrantStatus(row.status),
        granted_by=row.granted_by,
        access_request_id=row.access_request_id,
        created_at_us=row.created_at_us,
        revoked_at_us=row.revoked_at_us,
        revoke_reason=row.revoke_reason,
    )


async def insert_grant(conn: AsyncConnection, grant: Grant) -> None:
    await conn.execute(
        t.grants.insert().values(
            id=grant.id,
            consumer=grant.consumer,
            dataset=grant.dataset,
            fields_json=json.dumps(list(grant.fields)),
            service_items_json=json.dumps(list(grant.service_items)),
            valid_from_us=grant.valid_from_us,
            valid_until_us=grant.valid_until_us,
            rate_per_minute=grant.rate_per_minute,
            status=grant.status.value,
            granted_by=grant.granted_by,
            access_request_id=grant.access_request_id,
            created_at_us=grant.created_at_us,
        )
    )


async def get_grant(conn: AsyncConnection, grant_id: str) -> Grant | None:
    row = (await conn.execute(sa.select(t.grants).where(t.grants.c.id == grant_id))).first()
    return _grant(row) if row else None


async def grants_for(conn: AsyncConnection, consumer: str, dataset: str) -> list[Grant]:
    """Every grant (live or not) of one consumer on one dataset; the decision tells them apart."""
    query = sa.select(t.grants).where(t.grants.c.consumer == consumer, t.grants.c.dataset == dataset)
    return [_grant(r) for r in (await conn.execute(query)).all()]


async def list_grants(
    conn: AsyncConnection,
    *,
    consumer: str = "",
    dataset: str = "",
    datasets_owned_by: str = "",
    include_inactive: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> list[Grant]:
    query = sa.select(t.grants)
    if consumer:
        query = query.where(t.grants.c.consumer == consumer)
    if dataset:
        query = query.where(t.grants.c.dataset == dataset)
    if datasets_owned_by:
        owned = sa.select(t.datasets.c.code).where(t.datasets.c.owner == datasets_owned_by)
        query = query.where(t.grants.c.dataset.in_(owned))
    if not include_inactive:
        query = query.where(t.grants.c.status == GrantStatus.ACTIVE.value)
    rows = (await conn.execute(query.order_by(t.grants.c.created_at_us).offset(offset).limit(limit))).all()
    return [_grant(r) for r in rows]


async def revoke_grant(conn: AsyncConnection, grant_id: str, now_us: int, reason: str) -> None:
    await conn.execute(
        t.grants.update()
        .where(t.grants.c.id == grant_id)
        .values(status=GrantStatus.REVOKED.value, revoked_at_us=now_us, revoke_reason=reason)
    )


async def latest_request_status(conn: AsyncConnection, consumer: str, dataset: str) -> str:
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
