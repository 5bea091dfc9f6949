"""The log benchmark: group-committed appends by concurrent appenders, then verify, export and one subject's query."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from bench.report import Result, target
from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import AccessLog
from exchange.audit.note import NoteSigner
from exchange.audit.verify import LogRow, verify_log
from exchange.auth.keys import generate_ed25519
from exchange.storage import Database
from exchange.storage import tables as t

ORIGIN = "bench-hub/access-log"
SUBJECTS = 100_000
EXPORT_CHUNK = 50_000


@dataclass(frozen=True)
class LogOptions:
    entries: int = 1_000_000
    seconds: float = 300.0
    appenders: int = 512
    synchronous: str = "FULL"
    data_dir: str = ""


def _entry(n: int) -> AccessLogEntry:
    """A realistic fetch entry: a department, an officer, a dataset, a subject, digests."""
    return AccessLogEntry(
        time_us=time.time_ns() // 1000,
        request_id=f"{n:032x}",
        action="exchange.fetch",
        caller_department=("SAMR", "FIRE", "MNR", "PSB")[n % 4],
        officer_id=f"officer-{n % 97}",
        officer_role="officer",
        dataset="business_licence",
        dataset_version="1.0",
        subject_id=f"subject-{n % SUBJECTS:06d}",
        case_id=f"case-{n // 10:08d}",
        service_item="restaurant_permit",
        fields=("unified_social_credit_code", "name", "status", "valid_until"),
        latency_us=1200,
        request_digest=hashlib.sha256(n.to_bytes(8, "big")).hexdigest(),
        response_digest=hashlib.sha256(n.to_bytes(9, "big")).hexdigest(),
    )


async def _append(log: AccessLog, options: LogOptions) -> tuple[int, float]:
    """Many appenders, each awaiting its own receipt as a servicer would, until the count or the time is up."""
    counter = iter(range(options.entries))
    deadline = time.perf_counter() + options.seconds

    async def appender() -> None:
        for n in counter:
            await log.append(_entry(n))
            if time.perf_counter() > deadline:
                return

    started = time.perf_counter()
    await asyncio.gather(*(appender() for _ in range(options.appenders)))
    return log.appended, time.perf_counter() - started


def _rows(db_file: Path) -> Iterator[LogRow]:
    """Stream the stored entries in index order straight from the database file, as an offline auditor would."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        cursor = conn.execute("SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx")
        while chunk := cursor.fetchmany(10_000):
            for idx, entry, leaf in chunk:
                yield LogRow(idx, entry, leaf)


def _export(db_file: Path, out: Path) -> int:
    """Write the log to Parquet in chunks (index, time, leaf hash, entry bytes and the query columns)."""
    columns = "idx, time_us, leaf_hash, entry, caller_department, dataset, subject_id, case_id, decision"
    names = [c.strip() for c in columns.split(",")]
    written = 0
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        cursor = conn.execute(f"SELECT {columns} FROM log_entries ORDER BY idx")
        writer: pq.ParquetWriter | None = None
        while chunk := cursor.fetchmany(EXPORT_CHUNK):
            columns_of_chunk = [pa.array(column) for column in zip(*chunk, strict=True)]
            table = pa.table(dict(zip(names, columns_of_chunk, strict=True)))
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="zstd")
            writer.write_table(table)
            written += len(chunk)
        if writer is not None:
            writer.close()
    return written


async def _subject_query_ms(db: Database, subjects: list[str]) -> list[float]:
    """One subject's report: every entry about them, newest last, through the hub's own engine."""
    times = []
    for subject in subjects:
        started = time.perf_counter()
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.log_entries.c.entry)
                    .where(t.log_entries.c.subject_id == subject)
                    .order_by(t.log_entries.c.idx)
                )
            ).all()
        times.append((time.perf_counter() - started) * 1000)
        assert rows, f"no entries for {subject}"
    return times


async def _run(options: LogOptions, data_dir: Path) -> Result:
    db_file = data_dir / "exchange.db"
    db = Database(f"sqlite:///{db_file}", synchronous=options.synchronous)
    await db.migrate()
    signer = NoteSigner("bench-hub", generate_ed25519())
    log = AccessLog(db, origin=ORIGIN, signer=signer)
    await log.start()
    appended, append_s = await _append(log, options)
    checkpoint = await log.sign_checkpoint()
    await log.close()
    batches = log.batches

    started = time.perf_counter()
    report = verify_log(_rows(db_file), [checkpoint.note], signer.verifier(), origin=ORIGIN)
    verify_s = time.perf_counter() - started
    if not report.ok:
        raise RuntimeError(f"the benchmark's own log failed verification: {report.first_problem}")

    started = time.perf_counter()
    exported = _export(db_file, data_dir / "log.parquet")
    export_s = time.perf_counter() - started

    subjects = [f"subject-{n:06d}" for n in range(0, min(SUBJECTS, appended), max(1, min(SUBJECTS, appended) // 20))]
    await _subject_query_ms(db, subjects[:2])  # warm the connection pool
    query_ms = sorted(await _subject_query_ms(db, subjects))
    await db.close()

    size = sum(p.stat().st_size for p in data_dir.glob("exchange.db*"))
    rate = appended / append_s
    median_query = query_ms[len(query_ms) // 2]
    result = Result(
        "log",
        ["step", "entries", "seconds", "rate/s"],
        [
            ["append (group commit)", appended, round(append_s, 2), round(rate)],
            ["verify whole log", report.size, round(verify_s, 2), round(report.size / verify_s)],
            ["export to Parquet", exported, round(export_s, 2), round(exported / export_s)],
            ["one subject's report (median ms)", len(subjects), round(median_query, 2), ""],
        ],
    )
    scale = 1_000_000 / max(1, appended)
    result.figures = {
        "appended": appended,
        "append_seconds": round(append_s, 3),
        "appends_per_second": round(rate, 1),
        "batches": batches,
        "mean_batch": round(appended / max(1, batches), 1),
        "appenders": options.appenders,
        "sqlite_synchronous": options.synchronous,
        "verify_seconds": round(verify_s, 3),
        "verify_seconds_per_million": round(verify_s * scale, 3),
        "export_seconds": round(export_s, 3),
        "export_seconds_per_million": round(export_s * scale, 3),
        "parquet_bytes": (data_dir / "log.parquet").stat().st_size,
        "subject_query_ms_median": round(median_query, 3),
        "subject_query_ms_max": round(query_ms[-1], 3),
        "db_bytes": size,
        "db_bytes_per_entry": round(size / max(1, appended), 1),
    }
    result.targets = {
        "appends_per_second>=20000": target(rate, 20_000, at_least=True),
        "verify_1M_seconds<10": target(verify_s * scale, 10, at_least=False),
        "export_1M_seconds<5": target(export_s * scale, 5, at_least=False),
        "subject_report_ms<50": target(median_query, 50, at_least=False),
    }
    if appended < 1_000_000:
        result.notes.append(f"only {appended:,} entries (bounded by --entries/--duration); 1M times are scaled")
    return result


def run(options: LogOptions) -> Result:
    """Run the log benchmark in a fresh data directory (kept only when --data-dir is given)."""
    if options.data_dir:
        path = Path(options.data_dir)
        path.mkdir(parents=True, exist_ok=True)
        return asyncio.run(_run(options, path))
    with tempfile.TemporaryDirectory(prefix="bench-log-") as tmp:
        return asyncio.run(_run(options, Path(tmp)))
