"""What auditors and operators run against the log's database without a hub: export, verify, archive.

Each works on the database directly (a SQLite file or PostgreSQL) and trusts nothing
in it: entries are checked against checkpoints signed with the hub's key, which the
caller supplies. Archiving writes a range with its proofs, checks the file it wrote,
and only then prunes the bodies from the live database; leaf hashes and tree nodes stay,
so checkpoints and proofs keep working.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import pyarrow as pa

from exchange.audit.export import ExportWriter, Format, verify_export
from exchange.audit.key_history import rotate_signing_key
from exchange.audit.log import AccessLog, read_proofs
from exchange.audit.merkle import inclusion_proof
from exchange.audit.note import CheckpointVerifier, NoteVerifier
from exchange.audit.origin import key_name
from exchange.audit.recorder import entry_of, refusal_of
from exchange.audit.verify import LogRow, VerifyReport, verify_log
from exchange.auth.identity import Caller, local_operator
from exchange.errors import DataLoss, FailedPrecondition
from exchange.storage import Database, log_store

T = TypeVar("T")
ARCHIVE = "audit.log.archive"
EXPORT = "audit.log.export"
ROTATE = "audit.signing_key.rotate"


@dataclass(frozen=True)
class Written:
    """What an export or archive wrote: the file, the entries in it and the checkpoint size they belong to."""

    path: Path
    first: int
    end: int
    checkpoint_size: int
    pruned: int = 0


async def _latest(db: Database) -> log_store.StoredCheckpoint:
    async with db.read() as conn:
        stored = await log_store.latest_checkpoint(conn)
    if stored is None or stored.size == 0:
        raise FailedPrecondition(
            "the log has no signed checkpoint yet; ask the hub for one: `exchange audit checkpoint --sign`",
            reason="CHECKPOINT_MISSING",
        )
    return stored


async def _batches(db: Database, start: int, end: int) -> AsyncIterator[list[LogRow]]:
    async with db.read() as conn:
        async for batch in log_store.stream_rows(conn, start=start, end=end):
            yield batch


async def export_log(db: Database, path: Path, *, fmt: Format = "parquet", verifier_key: str = "") -> Written:
    """Write every entry the latest signed checkpoint covers, with that checkpoint (and the key, when given)."""
    checkpoint = await _latest(db)
    with ExportWriter(path, checkpoint.note, fmt=fmt, verifier_key=verifier_key) as writer:
        sqlite_file = db.sqlite_file
        if sqlite_file is not None:
            await asyncio.to_thread(_export_sqlite, sqlite_file, checkpoint.size, writer)
        else:
            await _export_pages(db, checkpoint.size, writer)
    return Written(path, 0, checkpoint.size, checkpoint.size)


async def export_selection(
    db: Database,
    path: Path,
    rows: Sequence[LogRow],
    checkpoint_note: str,
    checkpoint_size: int,
    *,
    fmt: Format = "parquet",
    verifier_key: str = "",
    filter_text: str = "",
) -> Written:
    """Write chosen entries (ascending, all under the checkpoint) each with its inclusion proof in that checkpoint."""
    beyond = [row.position for row in rows if row.position >= checkpoint_size]
    if beyond:
        raise FailedPrecondition(
            f"entry {beyond[0]} is not under the checkpoint of size {checkpoint_size}; sign a newer one first",
            reason="CHECKPOINT_TOO_OLD",
        )
    with ExportWriter(
        path,
        checkpoint_note,
        fmt=fmt,
        with_proofs=True,
        verifier_key=verifier_key,
        selection="filtered",
        filter_text=filter_text,
    ) as writer:
        for start in range(0, len(rows), 5000):
            batch = rows[start : start + 5000]
            builders = [lambda node, i=row.position: inclusion_proof(i, checkpoint_size, node) for row in batch]
            await asyncio.to_thread(writer.write, batch, await read_proofs(db, builders))
        # An empty selection still gets its schema and footer written.
        if not rows:
            writer.write([], [])
    first = rows[0].position if rows else 0
    return Written(path, first, rows[-1].position + 1 if rows else 0, checkpoint_size)


async def export_filtered(
    db: Database, path: Path, f: log_store.EntryFilter, *, fmt: Format = "parquet", verifier_key: str = ""
) -> Written:
    """Write the entries a filter selects under the latest signed checkpoint, each with its inclusion proof."""
    checkpoint = await _latest(db)
    rows: list[LogRow] = []
    after: int | None = None
    async with db.read() as conn:
        while True:
            page = await log_store.query_entries(conn, f, after=after, limit=5000)
            rows += [LogRow(s.entry.index, s.canonical, s.leaf_hash) for s in page if s.entry.index < checkpoint.size]
            if len(page) < 5000 or page[-1].entry.index >= checkpoint.size:
                break
            after = page[-1].entry.index
    filter_text = urlencode({k: v for k, v in vars(f).items() if v})
    return await export_selection(
        db, path, rows, checkpoint.note, checkpoint.size, fmt=fmt, verifier_key=verifier_key, filter_text=filter_text
    )


async def export_as(
    operator: Caller,
    db: Database,
    path: Path,
    f: log_store.EntryFilter,
    *,
    origin: str,
    fmt: Format = "parquet",
    verifier_key: str = "",
) -> Written:
    """An export by an embedded command: the operation `audit.log.export`, decided for `operator` and logged by
    the recorder, a refusal too. The filter goes in the details, not the subject column: an export is
    oversight, not a use of the person's data."""
    log = AccessLog(db, origin=origin, signer=None)
    refused = refusal_of(operator, EXPORT)
    if refused is not None:
        await log.write_batch([refused[1]])
        raise refused[0]
    if f == log_store.EntryFilter():
        written = await export_log(db, path, fmt=fmt, verifier_key=verifier_key)
    else:
        written = await export_filtered(db, path, f, fmt=fmt, verifier_key=verifier_key)
    details = {
        "file": path.name,
        "format": fmt,
        "filter": urlencode({k: v for k, v in vars(f).items() if v}),
        "checkpoint_size": str(written.checkpoint_size),
    }
    await log.write_batch([entry_of(operator, EXPORT, dataset=f.dataset, details=details)])
    return written


def _export_sqlite(sqlite_file: str, end: int, writer: ExportWriter, *, page_rows: int = 20_000) -> None:
    """A pipeline of three threads: SQLite reads page N+1, Arrow parses page N, Parquet compresses page N-1.

    Each stage runs in Arrow's C++ without the GIL; at most three pages are held at once.
    """
    with (
        log_store.arrow_pages(sqlite_file, end=end, batch=page_rows) as pages,
        ThreadPoolExecutor(1, "export-read") as reading,
        ThreadPoolExecutor(1, "export-write") as writing,
    ):
        following = reading.submit(_next_page, pages)
        written: Future[None] | None = None
        while (page := following.result()) is not None:
            following = reading.submit(_next_page, pages)
            table = writer.table(page.column("idx"), page.column("entry"), page.column("leaf_hash"))
            if written is not None:
                written.result()
            written = writing.submit(writer.write_table, table)
        if written is not None:
            written.result()


def _next_page(pages: pa.RecordBatchReader) -> pa.RecordBatch | None:
    try:
        return pages.read_next_batch()
    except StopIteration:
        return None


async def _export_pages(db: Database, end: int, writer: ExportWriter) -> None:
    """Read pages on the loop while Arrow parses and compresses the previous one in a worker thread."""
    writing: asyncio.Future[None] | None = None
    try:
        async with db.read() as conn:
            async for positions, entries, leaves in log_store.stream_columns(conn, end=end):
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(asyncio.to_thread(writer.write_columns, positions, entries, leaves))
    finally:
        if writing is not None:
            await writing


def _bridge(source: AsyncIterator[list[T]], loop: asyncio.AbstractEventLoop) -> Iterator[T]:
    """Iterate an async source of batches from a worker thread (verification is CPU work, off the loop)."""

    async def next_batch() -> list[T] | None:
        return await anext(source, None)

    while True:
        batch = asyncio.run_coroutine_threadsafe(next_batch(), loop).result()
        if batch is None:
            return
        yield from batch


async def verify_database(
    db: Database, checkpoints: Sequence[str], verifier: CheckpointVerifier, *, origin: str
) -> VerifyReport:
    """Recompute the whole tree from the stored rows and check it against the given checkpoints."""
    rows = _bridge(_batches(db, 0, 2**63 - 1), asyncio.get_running_loop())
    return await asyncio.to_thread(verify_log, rows, checkpoints, verifier, origin=origin)


async def archive_log(
    db: Database,
    before: int,
    path: Path,
    verifier: CheckpointVerifier,
    *,
    origin: str,
    fmt: Format = "parquet",
    operator: Caller | None = None,
) -> Written:
    """Archive entries below `before` with proofs and checkpoint, check the file, then prune them.

    Archiving is the operation `audit.log.archive`, decided for `operator` (default: the local operator) and
    logged by the recorder, a refusal too."""
    caller = operator or local_operator()
    log = AccessLog(db, origin=origin, signer=None)
    refused = refusal_of(caller, ARCHIVE)
    if refused is not None:
        await log.write_batch([refused[1]])
        raise refused[0]
    checkpoint = await _latest(db)
    if before > checkpoint.size:
        raise FailedPrecondition(
            f"the latest signed checkpoint covers {checkpoint.size} entries, fewer than --before {before}; "
            "sign a newer one first (`exchange audit checkpoint --sign`)",
            reason="CHECKPOINT_TOO_OLD",
        )
    async with db.read() as conn:
        first = await log_store.first_unpruned(conn)
    if first >= before:
        raise FailedPrecondition(f"entries below {before} are already archived", reason="NOTHING_TO_ARCHIVE")
    size = checkpoint.size
    with ExportWriter(path, checkpoint.note, fmt=fmt, with_proofs=True) as writer:
        async for batch in _batches(db, first, before):
            builders = [lambda node, i=row.position: inclusion_proof(i, size, node) for row in batch]
            writer.write(batch, await read_proofs(db, builders))
    # Prune only what the file on disk proves: a bad write must never cost the only copy.
    report = verify_export(path, [], verifier, origin=origin)
    if not report.ok or report.size != before - first:
        problem = report.first_problem.message if report.first_problem else f"it holds {report.size} entries"
        raise DataLoss(f"the archive {path} does not verify ({problem}); nothing was pruned", reason="ARCHIVE_BAD")
    async with db.begin() as conn:
        pruned = await log_store.prune_before(conn, before)
    details = {
        "target": f"[{first}, {before})",
        "summary": f"archived to {path.name} and pruned {pruned} entry bodies",
        "checkpoint_size": str(size),
    }
    await log.write_batch([entry_of(caller, ARCHIVE, details=details)])
    return Written(path, first, before, size, pruned)


async def rotate_key_as(
    operator: Caller, db: Database, key_path: Path, history_path: Path, *, origin: str, timestamp: int
) -> tuple[NoteVerifier, NoteVerifier, int]:
    """Hand the log over from the hub's checkpoint key to a new one at the latest checkpoint: the operation
    `audit.signing_key.rotate`, decided for `operator` and logged (after the handover: the new key signs it).

    Returns the old and new verifiers and the size handed over at."""
    log = AccessLog(db, origin=origin, signer=None)
    refused = refusal_of(operator, ROTATE)
    if refused is not None:
        await log.write_batch([refused[1]])
        raise refused[0]
    async with db.read() as conn:
        latest = await log_store.latest_checkpoint(conn)
    size = latest.size if latest is not None else 0
    old, new, _ = rotate_signing_key(
        key_path, history_path, origin=origin, key_name=key_name(origin), size=size, timestamp=timestamp
    )
    details = {"old_key": old.verifier_key(), "new_key": new.verifier_key(), "handover_size": str(size)}
    await log.write_batch([entry_of(operator, ROTATE, details=details)])
    return old, new, size
