"""The durable access log: group-committed appends, contiguous indices, signed checkpoints.

Sequencing and integration happen in one transaction (Tessera's sequence and
integrate steps together): a batch of entries gets the next indices, their leaf
hashes extend the stored right edge of the tree, the perfect subtrees they complete
are stored for proofs, and the head moves, or none of it happens. On PostgreSQL the
head row is locked, so several hub replicas append to one log without gaps.

Fail closed: `append` returns a receipt only after the commit; if the log cannot be
written, it raises Unavailable and the caller returns nothing.

Proofs are served from the stored perfect subtrees (``log_nodes``) and leaf hashes:
the nodes a proof needs depend only on the sizes, so they are listed first and read
in one query, O(log n) rows. Checkpoints are signed by one replica at a time (a
PostgreSQL advisory lock), at an interval and on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from exchange import metrics
from exchange.audit.bundle import EvidenceBundle
from exchange.audit.entry import AccessLogEntry, SplitEncoding, bounded_entry, join_encoding, split_encoding
from exchange.audit.high_water import HighWater, log_behind, log_forked, read_high_water, record_high_water
from exchange.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    NodeReader,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from exchange.audit.note import Checkpoint, NoteSigner, sign_checkpoint
from exchange.audit.receipt import Receipt
from exchange.errors import DataLoss, FailedPrecondition, InvalidArgument, NotFound, OutOfRange, Unavailable
from exchange.storage import Connection, Database, log_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str


@dataclass(frozen=True)
class InclusionProof:
    """Leaf `index` is in the tree of `size` entries signed by `checkpoint`."""

    index: int
    size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: SignedCheckpoint | None


class AccessLog:
    """Appends entries in group commits and signs checkpoints of the tree."""

    def __init__(
        self,
        db: Database,
        *,
        origin: str,
        signer: NoteSigner | None,
        max_batch: int = 1024,
        high_water: Path | None = None,
    ) -> None:
        self.db = db
        self.origin = origin
        self.signer = signer
        # Where each signed checkpoint is also recorded, outside the database (see high_water.py).
        self.high_water = high_water
        self.max_batch = max_batch
        # Entries waiting for the writer, already encoded but for their index and hidden flag.
        self._pending: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.appended = 0

    async def start(self) -> None:
        """Make sure the head row exists and start the writer."""
        async with self.db.begin() as conn:
            await log_store.ensure_head(conn, Frontier().to_bytes())
        self._writer = asyncio.create_task(self._write_loop(), name="access-log-writer")

    @property
    def queue_depth(self) -> int:
        """Entries waiting for the writer (a metric: a growing queue means commits cannot keep up)."""
        return len(self._pending)

    async def close(self) -> None:
        """Stop the writer after the queued entries are written."""
        if self._writer is None:
            return
        if not self._writer.done():
            await self._drained.wait()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def append(self, entry: AccessLogEntry) -> Receipt:
        """Write one entry durably; return its receipt once committed."""
        if self._writer is None or self._writer.done():
            raise Unavailable("the access log is not running; nothing can be served", reason="ACCESS_LOG_DOWN")
        # Bounded and encoded here, outside the writer's transaction: an entry that cannot be encoded fails
        # its own caller only, and the work overlaps the commit of the batch before.
        entry = bounded_entry(entry)
        parts = split_encoding(entry)
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, parts, future))
        self._drained.clear()
        self._wake.set()
        return await future

    async def _write_loop(self) -> None:
        pending = self._pending
        while True:
            if not pending:
                self._drained.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [pending.popleft() for _ in range(min(len(pending), self.max_batch))]
            try:
                receipts = await self._write([entry for entry, _, _ in batch], [parts for _, parts, _ in batch])
            except Exception as error:
                log.error("access log write failed for %d entries: %s", len(batch), error)
                if len(batch) > 1:
                    await self._write_one_by_one(batch)
                else:
                    _fail(batch[0][2])
                continue
            for (_, _, future), receipt in zip(batch, receipts, strict=True):
                if not future.done():
                    future.set_result(receipt)

    async def _write_one_by_one(self, batch: Sequence[_Pending]) -> None:
        """After a failed batch, each entry in its own transaction: one that cannot be stored fails only its
        own caller, and the honest ones in the same batch still commit (in their original order)."""
        for entry, parts, future in batch:
            try:
                (receipt,) = await self._write([entry], [parts])
            except Exception as error:
                log.error("access log entry %s could not be written: %s", entry.request_id, error)
                _fail(future)
                continue
            if not future.done():
                future.set_result(receipt)

    async def write_batch(self, entries: Sequence[AccessLogEntry]) -> list[Receipt]:
        """Sequence and integrate a batch in one transaction (also used directly by bulk loaders)."""
        bounded = [bounded_entry(entry) for entry in entries]
        return await self._write(bounded, [split_encoding(entry) for entry in bounded])

    async def _write(self, entries: Sequence[AccessLogEntry], parts: Sequence[SplitEncoding]) -> list[Receipt]:
        """Number the encoded entries from the head, hash them, extend the tree and commit it all at once."""
        started = time.perf_counter()
        first, leaves = await self.db.write(
            functools.partial(_integrate, self.db.dialect, entries, parts), large=len(entries) >= _LARGE_BATCH
        )
        metrics.log_committed(len(entries), time.perf_counter() - started)
        self.batches += 1
        self.appended += len(entries)
        origin = self.origin
        return [Receipt(first + offset, leaf, origin) for offset, leaf in enumerate(leaves)]

    async def head(self) -> tuple[int, bytes]:
        """The committed size and root hash."""
        async with self.db.read() as conn:
            frontier = Frontier.from_bytes(await log_store.head_frontier(conn))
        return frontier.size, frontier.root() if frontier.size else EMPTY_ROOT

    async def sign_checkpoint(self, *, wait: bool = False) -> SignedCheckpoint:
        """Sign and store the current head; with another replica signing, wait or return its checkpoint."""
        if self.signer is None:
            raise FailedPrecondition(
                "this access log was opened without the hub's signing key; only the hub signs checkpoints",
                reason="SIGNING_KEY_MISSING",
            )
        async with self.db.begin() as conn:
            if not await log_store.lock_signer(conn, self.db.dialect, wait=wait):
                # Another replica is signing: its newest checkpoint will do, or wait for the first one.
                stored = await log_store.latest_checkpoint(conn)
                if stored is not None:
                    return self._opened(stored)
                await log_store.lock_signer(conn, self.db.dialect, wait=True)
            frontier = Frontier.from_bytes(await log_store.head_frontier(conn))
            size, root = frontier.size, frontier.root()
            checkpoint = Checkpoint(origin=self.origin, size=size, root_hash=root, timestamp=int(time.time()))
            note = sign_checkpoint(checkpoint, self.signer)
            await log_store.put_checkpoint(conn, size, root, checkpoint.timestamp, note)
        if self.high_water is not None:
            record_high_water(self.high_water, HighWater(self.origin, size, root, checkpoint.timestamp))
        return SignedCheckpoint(checkpoint, note)

    async def refuse_rollback(self) -> None:
        """Refuse a log shorter than the newest checkpoint this hub signed, or one that does not extend it."""
        mark = read_high_water(self.high_water) if self.high_water is not None else None
        if mark is None or mark.size == 0:
            return
        size, root = await self.head()
        if size < mark.size:
            raise log_behind(mark, size)
        _, proof = await self.consistency_proof(mark.size, size)
        try:
            verify_consistency(mark.size, size, mark.root_hash, root, proof)
        except ProofError:
            raise log_forked(mark, size) from None

    def _opened(self, stored: log_store.StoredCheckpoint) -> SignedCheckpoint:
        """A stored checkpoint as a SignedCheckpoint (its note is what was signed)."""
        checkpoint = Checkpoint(self.origin, stored.size, stored.root_hash, stored.timestamp)
        return SignedCheckpoint(checkpoint, stored.note)

    async def latest_checkpoint(self, *, covering: int = 0) -> SignedCheckpoint:
        """The newest stored checkpoint; a fresh one if none covers `covering` entries yet."""
        async with self.db.read() as conn:
            stored = await log_store.latest_checkpoint(conn)
        if stored is not None and stored.size >= max(covering, 1):
            return self._opened(stored)
        return await self.sign_checkpoint(wait=True)

    async def checkpoint_at(self, size: int) -> SignedCheckpoint | None:
        """The stored checkpoint of exactly `size` entries, if one was signed."""
        async with self.db.read() as conn:
            stored = await log_store.checkpoint_at(conn, size)
        return self._opened(stored) if stored else None

    async def _read_proof(self, build: ProofBuilder) -> list[bytes]:
        """Build one proof from the stored nodes."""
        return (await read_proofs(self.db, [build]))[0]

    async def check_index(self, index: int, *, not_found: bool = False) -> None:
        """Refuse an index the log does not reach (a uint64 from the wire may not even fit a database integer).

        OUT_OF_RANGE by default; NOT_FOUND where "no such entry" must read the same for every caller.
        """
        committed, _ = await self.head()
        if index >= committed:
            message = f"the log holds {committed} entries (indexes 0 to {committed - 1}); there is no entry {index}"
            if not_found:
                raise NotFound(message, reason="ENTRY_NOT_FOUND", metadata={"tree_size": str(committed)})
            raise OutOfRange(message, reason="ENTRY_OUT_OF_RANGE", metadata={"tree_size": str(committed)})

    async def _check_size(self, size: int, what: str) -> None:
        committed, _ = await self.head()
        if size > committed:
            raise InvalidArgument(
                f"{what} {size} is beyond the log, which holds {committed} entries", reason="TREE_SIZE_TOO_LARGE"
            )

    async def inclusion_proof(self, index: int, tree_size: int = 0) -> InclusionProof:
        """The path from leaf `index` to a signed root (latest checkpoint when `tree_size` is 0)."""
        if tree_size:
            await self._check_size(tree_size, "tree size")
            if index >= tree_size:
                raise OutOfRange(
                    f"entry {index} is not in a tree of {tree_size} entries", reason="LEAF_INDEX_OUT_OF_RANGE"
                )
            signed = await self.checkpoint_at(tree_size)
        else:
            committed, _ = await self.head()
            if index >= committed:
                raise NotFound(
                    f"the log holds {committed} entries; there is no entry {index}", reason="ENTRY_NOT_FOUND"
                )
            signed = await self.latest_checkpoint(covering=index + 1)
            tree_size = signed.checkpoint.size
        size = tree_size
        hashes, (leaf,) = await read_proofs(
            self.db, [lambda node: inclusion_proof(index, size, node), lambda node: [node(0, index)]]
        )
        if signed is not None:
            # Never hand out a proof that fails: damaged stored hashes surface here as DATA_LOSS.
            verify_inclusion(leaf, index, tree_size, hashes, signed.checkpoint.root_hash)
        return InclusionProof(index, tree_size, leaf, tuple(hashes), signed)

    async def consistency_proof(self, old_size: int, new_size: int = 0) -> tuple[int, list[bytes]]:
        """The proof that the tree of `old_size` is a prefix of `new_size` (latest checkpoint when 0)."""
        if new_size:
            await self._check_size(new_size, "new size")
        else:
            new_size = (await self.latest_checkpoint(covering=old_size)).checkpoint.size
        if old_size > new_size:
            raise InvalidArgument(f"old size {old_size} exceeds new size {new_size}", reason="TREE_SIZES_INVALID")
        hashes = await self._read_proof(lambda node: consistency_proof(old_size, new_size, node))
        old, new = await self.checkpoint_at(old_size), await self.checkpoint_at(new_size)
        if old is not None and new is not None:
            verify_consistency(old_size, new_size, old.checkpoint.root_hash, new.checkpoint.root_hash, hashes)
        return new_size, hashes

    async def evidence_bundle(self, index: int) -> EvidenceBundle:
        """A self-contained proof of entry `index`: its bytes, inclusion path and a signed checkpoint."""
        await self.check_index(index, not_found=True)
        async with self.db.read() as conn:
            stored = await log_store.get_entry(conn, index)
        if stored is None:
            raise NotFound(
                f"no entry {index} in the live log (never written, or archived and pruned)", reason="ENTRY_NOT_FOUND"
            )
        proof = await self.inclusion_proof(index)
        if proof.checkpoint is None:
            raise FailedPrecondition("no signed checkpoint covers this entry yet", reason="CHECKPOINT_MISSING")
        return EvidenceBundle(stored.canonical, index, proof.hashes, proof.checkpoint.note)


ProofBuilder = Callable[[NodeReader], list[bytes]]
_Pending = tuple[AccessLogEntry, SplitEncoding, "asyncio.Future[Receipt]"]


def _fail(future: asyncio.Future[Receipt]) -> None:
    """Fail one caller's append closed: no durable entry, so nothing is served."""
    if not future.done():
        future.set_exception(
            Unavailable(
                "the access log cannot be written, so nothing was returned; try again later",
                reason="ACCESS_LOG_UNAVAILABLE",
            )
        )


async def read_proofs(db: Database, builders: Sequence[ProofBuilder]) -> list[list[bytes]]:
    """Build proofs from stored nodes: a dry run lists the nodes they read (they depend only on
    the sizes), one query per level reads them, and a second run builds the proofs."""
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return EMPTY_ROOT

    for build in builders:
        build(record)
    async with db.read() as conn:
        nodes = await log_store.read_nodes(conn, wanted)
    missing = sorted(wanted - nodes.keys())
    if missing:
        raise DataLoss(
            f"the stored tree lacks {len(missing)} node(s) for this proof (first: level {missing[0][0]}, "
            f"index {missing[0][1]}); the log database is damaged or incomplete",
            reason="LOG_NODES_MISSING",
        )
    return [build(lambda level, index: nodes[(level, index)]) for build in builders]


def _integrate(
    dialect: str, entries: Sequence[AccessLogEntry], parts: Sequence[SplitEncoding], conn: Connection
) -> tuple[int, list[bytes]]:
    """In the write transaction: the first index and the leaf hashes of the entries appended at the head."""
    first, stored_frontier = log_store.lock_head(conn, dialect)
    # Read in the same transaction, so every replica marks entries the same way.
    hidden = log_store.hidden_departments(conn)
    frontier = Frontier.from_bytes(stored_frontier)
    hides = [entry.hidden_from_subject or entry.caller_department in hidden for entry in entries]
    encoded = [
        join_encoding(split, index, hide)
        for index, split, hide in zip(range(first, first + len(entries)), parts, hides, strict=True)
    ]
    leaves = list(map(leaf_hash, encoded))
    nodes = frontier.extend(leaves)
    rows = [
        (
            first + offset,
            entry.time_us,
            leaves[offset],
            encoded[offset],
            entry.action,
            entry.caller_department,
            entry.officer_id,
            entry.dataset,
            entry.subject_id,
            entry.case_id,
            entry.decision,
            entry.reason,
            hides[offset],
        )
        for offset, entry in enumerate(entries)
    ]
    log_store.append_entries(conn, dialect, rows, nodes, frontier.size, frontier.to_bytes())
    return first, leaves


# From this many entries a batch is written on the database's writer thread (see `Database.write`).
_LARGE_BATCH = 64
