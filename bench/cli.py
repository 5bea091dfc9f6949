"""`python -m bench NAME` and `exchange bench NAME`: run one benchmark (or all), print the table, write JSON."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from bench import report
from bench.report import Result, write_result


def _finish(result: Result, options: Any) -> None:
    path = write_result(result, dataclasses.asdict(options))
    click.echo(f"\n== {result.name} ==\n{result.table()}\nwritten to {path}")


@click.group("bench")
@click.option(
    "--results-dir", envvar="BENCH_RESULTS_DIR", default=None, help="Write results here, not in bench/results/."
)
def bench(results_dir: str | None) -> None:
    """Benchmarks against a ceiling measured in the same run; JSON lands in bench/results/."""
    if results_dir:
        report.RESULTS = Path(results_dir)


@bench.command("log")
@click.option("--entries", type=int, default=1_000_000, show_default=True, help="Entries to append.")
@click.option("--duration", type=float, default=300.0, show_default=True, help="Stop appending after this long.")
@click.option("--appenders", type=int, default=512, show_default=True, help="Concurrent appenders.")
@click.option("--synchronous", type=click.Choice(["FULL", "NORMAL"]), default="FULL", show_default=True)
@click.option("--data-dir", default="", help="Keep the log database here (default: a temporary directory).")
@click.option("--audit", is_flag=True, help="Then proofs, citizen report, CSV export, archive and prune (log_bench).")
def log_command(entries: int, duration: float, appenders: int, synchronous: str, data_dir: str, audit: bool) -> None:
    """Append ENTRIES to a durable access log, verify it, export it to Parquet, query one subject."""
    import asyncio
    import tempfile

    from bench.access_log import LogOptions, run
    from bench.log_bench import _measure

    with tempfile.TemporaryDirectory(prefix="bench-log-") as tmp:
        # The audit steps reopen the database, so it must outlive the harness run.
        options = LogOptions(entries, duration, appenders, synchronous, data_dir or (tmp if audit else ""))
        result = run(options)
        if audit:
            result.figures["audit"] = asyncio.run(_measure(Path(options.data_dir), entries))
            result.notes.append("audit steps (bench/log_bench.py) in figures.audit")
    _finish(result, options)


def _levels(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


@bench.command("fetch")
@click.option("--duration", type=float, default=10.0, show_default=True, help="Seconds per target and concurrency.")
@click.option("--concurrency", default="1,8,32", show_default=True, help="Concurrency levels, comma separated.")
@click.option("--rows", type=int, default=10_000, show_default=True, help="Licences in the adapter's database.")
@click.option("--synchronous", type=click.Choice(["FULL", "NORMAL"]), default="FULL", show_default=True)
@click.option("--insecure", is_flag=True, help="Also run every target in plain text (dev mode), as extra rows.")
@click.option("--workers", default="", help="Hub worker counts to compare, e.g. 1,2 (exchange serve --workers, "
              "PostgreSQL, secure path) instead of the ceilings.")  # fmt: skip
def fetch_command(duration: float, concurrency: str, rows: int, synchronous: str, insecure: bool, workers: str) -> None:
    """Record fetches through the hub (mTLS, tokens, TLS to the adapter) vs echo, a proxy and a direct call."""
    from bench.fetch import FetchOptions, run

    options = FetchOptions(
        duration,
        _levels(concurrency),
        rows,
        synchronous,
        insecure=insecure,
        workers=_levels(workers) if workers else (),
    )
    _finish(run(options), options)


@bench.command("profile")
@click.option("--duration", type=float, default=10.0, show_default=True, help="Seconds of profiled load.")
@click.option("--concurrency", type=int, default=32, show_default=True)
def profile_command(duration: float, concurrency: int) -> None:
    """Profile the hub process (pyinstrument) while the fetch benchmark drives it; HTML and text in bench/results/."""
    from bench.fetch import FetchOptions, run

    report.RESULTS.mkdir(parents=True, exist_ok=True)
    path = report.RESULTS / f"profile-fetch-{report.stamp()}.html"
    options = FetchOptions(duration, (concurrency,), profile=str(path))
    result = run(options)
    result.name = "profile"
    result.notes.append(f"profile of the hub process: {path} and {path.with_suffix('.txt')}")
    _finish(result, options)


@bench.command("bulk")
@click.option("--rows", type=int, default=2_000_000, show_default=True, help="Rows in the table.")
@click.option("--duration", type=float, default=120.0, show_default=True, help="Stop each transfer after this long.")
@click.option("--repeat", type=int, default=3, show_default=True, help="Transfers per path (best one reported).")
@click.option("--insecure", is_flag=True, help="Also run every path in plain text (dev mode), as extra rows.")
def bulk_command(rows: int, duration: float, repeat: int, insecure: bool) -> None:
    """Stream a table through the hub's Scan (mTLS, TLS to the adapter) vs a direct Flight do_get (mTLS)."""
    from bench.bulk import BulkOptions, run

    options = BulkOptions(rows, duration, repeat, insecure)
    _finish(run(options), options)


@bench.command("annotated")
@click.option("--copies", type=int, default=20, show_default=True, help="Signed copies (the first loads the font).")
@click.option("--font", default=None, help="The CJK font (default: the hub's annotated_copy_font).")
def annotated_command(copies: int, font: str | None) -> None:
    """CPU per signed annotated copy (加注件: CJK font, layout, PAdES) and the process's peak RSS."""
    from bench.annotated import AnnotatedOptions, run

    options = AnnotatedOptions(copies, font) if font else AnnotatedOptions(copies)
    _finish(run(options), options)


@bench.command("all")
@click.pass_context
def all_command(ctx: click.Context) -> None:
    """Every benchmark with its defaults (what `make bench` runs): log (with --audit), fetch, bulk, then the profile."""
    ctx.invoke(log_command, audit=True)
    for command in (fetch_command, bulk_command, profile_command):
        ctx.invoke(command)
