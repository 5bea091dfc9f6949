"""Replay memory shared by every hub replica: the token ids (jti) already accepted, until their tokens expire.

A token id is accepted once across all hub processes sharing a database: the first process to insert
(issuer, jti) wins, every other insert of the same pair finds it and is refused. A row whose token expired
no longer counts (its token is refused on expiry anyway) and is replaced by a later insert or purged.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t

U = t.token_uses


async def claim_token(conn: AsyncConnection, issuer: str, jti: str, expires_us: int, now_us: int) -> bool:
    """Record the first use of (issuer, jti); False when a live row already holds it (a replay)."""
    insert = postgresql.insert(U) if conn.dialect.name == "postgresql" else sqlite.insert(U)
    statement = (
        insert.values(issuer=issuer, jti=jti, expires_us=expires_us, first_used_us=now_us)
        .on_conflict_do_update(
            index_elements=[U.c.issuer, U.c.jti],
            set_={"expires_us": expires_us, "first_used_us": now_us},
            where=U.c.expires_us <= now_us,
        )
        .returning(U.c.jti)
    )
    return (await conn.execute(statement)).first() is not None


async def purge_expired(conn: AsyncConnection, now_us: int) -> int:
    """Forget token ids whose tokens have expired; the number of rows removed."""
    result = await conn.execute(U.delete().where(U.c.expires_us <= now_us))
    return int(result.rowcount or 0)
