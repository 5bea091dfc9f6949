"""The durable access log: group-committed appends, contiguous indices, signed checkpoints.

Sequencing and integration happen in one transaction (Tessera's sequence and
integrate steps together): a batch of entries gets the next indices, their leaf
hashes extend the stored right edge of the tree, the perfect subtrees they complete
are stored for proofs, and the head moves, or none of it happens. On PostgreSQL the
head row is locked, so several hub replicas append to one log without gaps.

Fail closed: `append` returns a receipt only after the commit; if the log cannot be
written, it raises Unavailable and the caller returns nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from catalog.errors import Unavailable
from exchange.audit.entry import AccessLogEntry, encode_entry
from exchange.audit.merkle import EMPTY_ROOT, Frontier, leaf_hash
from exchange.audit.note import Checkpoint, NoteSigner, sign_checkpoint
from exchange.storage import Database
from exchange.storage import tables as t

log = logging.getLogger(__name__)

_HEAD_ID = 1


@dataclass(frozen=True)
class Receipt:
    """Where an entry landed: its index and leaf hash, provable against a later checkpoint."""

    index: int
    leaf_hash: bytes
    origin: str


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str


class AccessLog:
    """Appends entries in group commits and signs checkpoints of the tree."""

    def __init__(self, db: Database, *, origin: str, signer: NoteSigner, max_batch: int = 1024) -> None:
        self.db = db
        self.origin = origin
        self.signer = signer
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[AccessLogEntry, asyncio.Future[Receipt]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.appended = 0

    async def start(self) -> None:
        """Make sure the head row exists and start the writer."""
        async with self.db.begin() as conn:
            head = (await conn.execute(sa.select(t.log_head.c.id).where(t.log_head.c.id == _HEAD_ID))).first()
            if head is None:
                await conn.execute(t.log_head.insert().values(id=_HEAD_ID, size=0, frontier=Frontier().to_bytes()))
        self._writer = asyncio.create_task(self._write_loop(), name="access-log-writer")

    async def close(self) -> None:
        """Stop the writer after the queued entries are written."""
        if self._writer is None:
            return
        if not self._writer.done():
            await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def append(self, entry: AccessLogEntry) -> Receipt:
        """Write one entry durably; return its receipt once committed."""
        if self._writer is None or self._writer.done():
            raise Unavailable("the access log is not running; nothing can be served", reason="ACCESS_LOG_DOWN")
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, future))
        return await future

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                receipts = await self.write_batch([entry for entry, _ in batch])
            except Exception as error:
                log.error("access log write failed for %d entries: %s", len(batch), error)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            Unavailable(
                                "the access log cannot be written, so nothing was returned; try again later",
                                reason="ACCESS_LOG_UNAVAILABLE",
                            )
                        )
                    self._queue.task_done()
                continue
            for (_, future), receipt in zip(batch, receipts, strict=True):
                if not future.done():
                    future.set_result(receipt)
            for _ in batch:
                self._queue.task_done()

    async def write_batch(self, entries: Sequence[AccessLogEntry]) -> list[Receipt]:
        """Sequence and integrate a batch in one transaction (also used directly by bulk loaders)."""
        async with self.db.begin() as conn:
            query = sa.select(t.log_head.c.size, t.log_head.c.frontier).where(t.log_head.c.id == _HEAD_ID)
            if self.db.dialect == "postgresql":
                query = query.with_for_update()
            head = (await conn.execute(query)).one()
            frontier = Frontier.from_bytes(head.frontier)
            rows: list[dict[str, object]] = []
            nodes: list[dict[str, object]] = []
            receipts: list[Receipt] = []
            for offset, entry in enumerate(entries):
                index = head.size + offset
                encoded = encode_entry(dataclasses.replace(entry, index=index))
                leaf = leaf_hash(encoded)
                nodes.extend({"level": lv, "idx": ix, "hash": h} for lv, ix, h in frontier.append(leaf) if lv > 0)
                rows.append(_row(entry, index, leaf, encoded))
                receipts.append(Receipt(index, leaf, self.origin))
            await conn.execute(t.log_entries.insert(), rows)
            if nodes:
                await conn.execute(t.log_nodes.insert(), nodes)
            await conn.execute(
                t.log_head.update()
                .where(t.log_head.c.id == _HEAD_ID)
                .values(size=frontier.size, frontier=frontier.to_bytes())
            )
        self.batches += 1
        self.appended += len(entries)
        return receipts

    async def head(self) -> tuple[int, bytes]:
        """The committed size and root hash."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.log_head.c.frontier).where(t.log_head.c.id == _HEAD_ID))).one()
        frontier = Frontier.from_bytes(row.frontier)
        return frontier.size, frontier.root() if frontier.size else EMPTY_ROOT

    async def sign_checkpoint(self) -> SignedCheckpoint:
        """Sign the current head (stored, so auditors can check the log against it later)."""
        size, root = await self.head()
        checkpoint = Checkpoint(origin=self.origin, size=size, root_hash=root, timestamp=int(time.time()))
        note = sign_checkpoint(checkpoint, self.signer)
        async with self.db.begin() as conn:
            existing = (await conn.execute(sa.select(t.checkpoints.c.size).where(t.checkpoints.c.size == size))).first()
            if existing is None:
                await conn.execute(
                    t.checkpoints.insert().values(size=size, root_hash=root, timestamp=checkpoint.timestamp, note=note)
                )
            else:
                await conn.execute(
                    t.checkpoints.update()
                    .where(t.checkpoints.c.size == size)
                    .values(timestamp=checkpoint.timestamp, note=note)
                )
        return SignedCheckpoint(checkpoint, note)


def _row(entry: AccessLogEntry, index: int, leaf: bytes, encoded: bytes) -> dict[str, object]:
    return {
        "idx": index,
        "time_us": entry.time_us,
        "leaf_hash": leaf,
        "entry": encoded,
        "action": entry.action,
        "caller_department": entry.caller_department,
        "officer_id": entry.officer_id,
        "dataset": entry.dataset,
        "subject_id": entry.subject_id,
        "case_id": entry.case_id,
        "decision": entry.decision,
        "reason": entry.reason,
        "hidden_from_subject": entry.hidden_from_subject,
    }
