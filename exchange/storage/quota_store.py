"""A grant's requests per minute, counted by every hub replica together.

Two fixed one-minute windows approximate a sliding minute (the previous window's count, weighted by how
much of it still falls within the last 60 s, plus the current one's). A request that would exceed the quota
is not counted, so a caller that keeps retrying is admitted again as soon as the window slides on.
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t

KEEP_MINUTES = 2


async def take(conn: AsyncConnection, grant_id: str, per_minute: int, now_s: float) -> bool:
    """Count one request under `grant_id` if the last minute leaves room; False when the quota is used up."""
    minute = int(now_s // 60)
    previous = (
        await conn.execute(
            sa.select(t.quota_counts.c.count).where(
                t.quota_counts.c.grant_id == grant_id, t.quota_counts.c.minute == minute - 1
            )
        )
    ).scalar_one_or_none() or 0
    still_counted = previous * (1 - (now_s - minute * 60) / 60)
    room = per_minute - math.ceil(still_counted)
    if room <= 0:
        return False
    dialect = conn.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t.quota_counts)
    counted = (
        await conn.execute(
            insert.values(grant_id=grant_id, minute=minute, count=1)
            .on_conflict_do_update(
                index_elements=[t.quota_counts.c.grant_id, t.quota_counts.c.minute],
                set_={"count": t.quota_counts.c.count + 1},
                where=t.quota_counts.c.count < room,
            )
            .returning(t.quota_counts.c.count)
        )
    ).first()
    return counted is not None


async def purge(conn: AsyncConnection, now_s: float) -> int:
    """Forget minutes no quota decision reads any more."""
    result = await conn.execute(
        sa.delete(t.quota_counts).where(t.quota_counts.c.minute < int(now_s // 60) - KEEP_MINUTES)
    )
    return result.rowcount or 0
