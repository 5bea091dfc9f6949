"""The access log at scale: what `bench.access_log` measures, plus proofs, the citizen report and archiving.

    .venv/bin/python -m bench.log_bench --entries 1000000 --data-dir /tmp/log-1m

Runs the harness's log benchmark (group-committed appends, verify, Parquet export,
per-subject query) on a kept data directory, then on the same database measures
what an auditor and a citizen wait for: an inclusion proof read from the stored
nodes, the citizen report (newest first, hidden entries left out), a CSV export,
and archiving the oldest tenth with proofs followed by pruning. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

from bench.access_log import ORIGIN, LogOptions
from bench.access_log import run as run_harness
from exchange.audit.log import AccessLog
from exchange.audit.note import NoteSigner
from exchange.audit.offline import archive_log, export_log, verify_database
from exchange.auth.keys import generate_ed25519
from exchange.storage import Database, log_store


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(ordered[len(ordered) // 2], 3), "max_ms": round(ordered[-1], 3)}


async def _measure(data_dir: Path, size_hint: int) -> dict[str, Any]:
    db = Database(f"sqlite:///{data_dir / 'exchange.db'}")
    signer = NoteSigner("bench-hub", generate_ed25519())
    log = AccessLog(db, origin=ORIGIN, signer=signer)
    # A checkpoint by this run's key: the harness's key is gone with its process.
    signed = await log.sign_checkpoint(wait=True)
    size = signed.checkpoint.size
    figures: dict[str, Any] = {"entries": size}

    rng = random.Random(7)
    proof_ms = []
    for index in (rng.randrange(size) for _ in range(200)):
        started = time.perf_counter()
        await log.inclusion_proof(index, size)
        proof_ms.append((time.perf_counter() - started) * 1000)
    figures["inclusion_proof"] = _ms(proof_ms)

    report_ms = []
    for n in range(0, min(size, 100_000), max(1, min(size, 100_000) // 50)):
        started = time.perf_counter()
        async with db.read() as conn:
            await log_store.query_entries(
                conn,
                log_store.EntryFilter(subject_id=f"subject-{n:06d}"),
                newest_first=True,
                limit=100,
                hide_hidden=True,
            )
        report_ms.append((time.perf_counter() - started) * 1000)
    figures["citizen_report_page_newest_first"] = _ms(report_ms)

    started = time.perf_counter()
    await export_log(db, data_dir / "log.csv", fmt="csv")
    figures["export_csv_seconds"] = round(time.perf_counter() - started, 2)

    before = max(1, size // 10)
    started = time.perf_counter()
    written = await archive_log(db, before, data_dir / "archive.parquet", signer.verifier(), origin=ORIGIN)
    figures["archive_with_proofs_and_prune"] = {
        "entries": written.end - written.first,
        "seconds": round(time.perf_counter() - started, 2),
    }
    started = time.perf_counter()
    report = await verify_database(db, [signed.note], signer.verifier(), origin=ORIGIN)
    figures["verify_after_prune"] = {
        "ok": report.ok,
        "pruned": report.pruned,
        "seconds": round(time.perf_counter() - started, 2),
    }
    await db.close()
    figures["size_hint"] = size_hint
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appenders", type=int, default=512)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--data-dir", required=True, help="Where the log database is kept (must be empty or absent).")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    harness = run_harness(LogOptions(args.entries, args.duration, args.appenders, args.synchronous, str(data_dir)))
    extra = asyncio.run(_measure(data_dir, args.entries))
    print(json.dumps({"harness": harness.figures, "audit": extra}, indent=2))


if __name__ == "__main__":
    main()
