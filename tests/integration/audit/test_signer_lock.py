"""Several replicas on one PostgreSQL log: one signs checkpoints at a time, all append to one tree."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import AccessLog
from exchange.audit.merkle import root_from_leaf_hashes
from exchange.audit.note import NoteSigner
from exchange.storage import Database
from exchange.storage.log_store import SIGNER_LOCK_ID
from exchange.testing import PG_URL, create_pg_schema, drop_pg_schema


async def test_a_replica_skips_signing_while_another_holds_the_signer_lock() -> None:
    schema = await create_pg_schema()
    signer = NoteSigner("hub", Ed25519PrivateKey.generate())
    dbs = [Database(PG_URL, schema=schema) for _ in range(2)]
    try:
        await dbs[0].migrate()
        a, b = (AccessLog(db, origin="hub/log", signer=signer) for db in dbs)
        await a.start()
        await b.start()
        leaves = [r.leaf_hash for r in await a.write_batch([AccessLogEntry(request_id=f"a{i}") for i in range(5)])]
        leaves += [r.leaf_hash for r in await b.write_batch([AccessLogEntry(request_id=f"b{i}") for i in range(4)])]
        first = await a.sign_checkpoint()
        assert first.checkpoint.size == 9 and first.checkpoint.root_hash == root_from_leaf_hashes(leaves)
        await b.write_batch([AccessLogEntry(request_id="late")])
        async with dbs[0].begin() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": SIGNER_LOCK_ID})
            # Replica b's periodic signing sees the lock held and hands back the latest signed checkpoint.
            skipped = await b.sign_checkpoint()
            assert skipped.checkpoint.size == 9 and skipped.note == first.note
        fresh = await b.sign_checkpoint(wait=True)
        assert fresh.checkpoint.size == 10
        await a.close()
        await b.close()
    finally:
        for db in dbs:
            await db.close()
        await drop_pg_schema(schema)
