"""Proofs read from the stored tree (log_nodes + leaf hashes) equal those of a tree rebuilt in memory."""

from __future__ import annotations

import random
from pathlib import Path

from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import AccessLog
from exchange.audit.merkle import (
    consistency_proof_from_leaves,
    inclusion_proof_from_leaves,
    root_from_leaf_hashes,
)
from exchange.storage import Database

SIZE = 300


async def test_random_proofs_from_the_stored_tree_match_the_reference_at_every_size(tmp_path: Path) -> None:
    rng = random.Random(6962)
    db = Database(f"sqlite:///{tmp_path / 'log.db'}", synchronous="OFF")
    await db.migrate()
    log = AccessLog(db, origin="test/log", signer=None)
    await log.start()
    leaves: list[bytes] = []
    # Batches of random sizes, as group commits of uneven load would write them.
    while len(leaves) < SIZE:
        batch = [AccessLogEntry(request_id=f"r{len(leaves) + i}") for i in range(rng.randint(1, 37))]
        leaves += [r.leaf_hash for r in await log.write_batch(batch)]
    try:
        assert (await log.head()) == (len(leaves), root_from_leaf_hashes(leaves))
        for _ in range(60):
            size = rng.randint(1, len(leaves))
            index = rng.randrange(size)
            proof = await log.inclusion_proof(index, size)
            assert list(proof.hashes) == inclusion_proof_from_leaves(index, leaves[:size])
            old = rng.randint(0, size)
            _, hashes = await log.consistency_proof(old, size)
            assert hashes == consistency_proof_from_leaves(old, leaves[:size])
    finally:
        await log.close()
        await db.close()
