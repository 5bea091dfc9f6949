"""The log benchmark: group-committed appends by concurrent appenders, then verify, export and one subject's query."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Result, target
from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import AccessLog
from exchange.audit.note import NoteSigner
from exchange.audit.offline import export_log, verify_database
from exchange.auth.keys import generate_ed25519
from exchange.storage import Database, log_store

ORIGIN = "bench-hub/access-log"
SUBJECTS = 100_000


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


def _cpu() -> float:
    """CPU seconds of this process, all threads (less disturbed than wall time on a shared machine)."""
    return time.process_time()


async def _subject_query_ms(db: Database, subjects: list[str]) -> list[float]:
    """One subject's report (the citizen report's query: not hidden, oldest first) through the hub's own store."""
    times = []
    for subject in subjects:
        started = time.perf_counter()
        async with db.read() as conn:
            found = await log_store.query_entries(
                conn, log_store.EntryFilter(subject_id=subject), limit=1000, hide_hidden=True
            )
        times.append((time.perf_counter() - started) * 1000)
        if not found:
            raise RuntimeError(f"the log holds no entries about {subject}")
    return times


async def _run(options: LogOptions, data_dir: Path) -> Result:
    db_file = data_dir / "exchange.db"
    db = Database(f"sqlite:///{db_file}", synchronous=options.synchronous)
    await db.migrate()
    signer = NoteSigner("bench-hub", generate_ed25519())
    log = AccessLog(db, origin=ORIGIN, signer=signer)
    await log.start()
    cpu = _cpu()
    appended, append_s = await _append(log, options)
    append_cpu = _cpu() - cpu
    checkpoint = await log.sign_checkpoint()
    await log.close()
    batches = log.batches

    started = time.perf_counter()
    report = await verify_database(db, [checkpoint.note], signer.verifier(), origin=ORIGIN)
    verify_s = time.perf_counter() - started
    if not report.ok:
        raise RuntimeError(f"the benchmark's own log failed verification: {report.first_problem}")

    started, cpu = time.perf_counter(), _cpu()
    exported = (await export_log(db, data_dir / "log.parquet")).end
    export_s, export_cpu = time.perf_counter() - started, _cpu() - cpu

    subjects = [f"subject-{n:06d}" for n in range(0, min(SUBJECTS, appended), max(1, min(SUBJECTS, appended) // 20))]
    await _subject_query_ms(db, subjects[:2])  # warm the connection pool
    query_ms = sorted(await _subject_query_ms(db, subjects))
    await db.close()

    size = sum(p.stat().st_size for p in data_dir.glob("exchange.db*"))
    rate = appended / append_s
    median_query = query_ms[len(query_ms) // 2]
    result = Result(
        "log",
        ["step", "entries", "seconds", "rate/s", "CPU us/entry"],
        [
            [
                "append (group commit)",
                appended,
                round(append_s, 2),
                round(rate),
                round(append_cpu / max(1, appended) * 1e6, 1),
            ],
            ["verify whole log", report.size, round(verify_s, 2), round(report.size / verify_s), ""],
            [
                "export to Parquet",
                exported,
                round(export_s, 2),
                round(exported / export_s),
                round(export_cpu / max(1, exported) * 1e6, 1),
            ],
            ["one subject's report (median ms)", len(subjects), round(median_query, 2), "", ""],
        ],
    )
    scale = 1_000_000 / max(1, appended)
    result.figures = {
        "appended": appended,
        "append_seconds": round(append_s, 3),
        "appends_per_second": round(rate, 1),
        "append_cpu_us_per_entry": round(append_cpu / max(1, appended) * 1e6, 1),
        "batches": batches,
        "mean_batch": round(appended / max(1, batches), 1),
        "appenders": options.appenders,
        "sqlite_synchronous": options.synchronous,
        "verify_seconds": round(verify_s, 3),
        "verify_seconds_per_million": round(verify_s * scale, 3),
        "export_seconds": round(export_s, 3),
        "export_seconds_per_million": round(export_s * scale, 3),
        "export_cpu_us_per_entry": round(export_cpu / max(1, exported) * 1e6, 1),
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
