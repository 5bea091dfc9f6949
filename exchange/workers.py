"""`exchange serve --workers N`: N hub processes on one host sharing the gRPC and console ports.

One Python process uses one core, so a host with more cores runs more workers. They share the ports with
SO_REUSEPORT, which is set only among our own workers: the parent first refuses a port another process
holds (`refuse_busy_ports`), and a hub started later on the same port is refused by that same check, since
it binds without SO_REUSEPORT. Workers share state through PostgreSQL exactly as replicas on several hosts
do (one log, replay memory, checkpoint signing under an advisory lock), so several workers need it; SQLite
serves one process.

The parent starts each worker as `exchange serve --worker-of PID` (a fresh interpreter: gRPC must not be
forked), passes SIGTERM and SIGINT on, restarts a worker that dies, and exits when all have stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from exchange import metrics
from exchange.config import Settings
from exchange.errors import FailedPrecondition, FieldViolation

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 1.0
MAX_RESTARTS_PER_MINUTE = 5


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse a worker count the settings cannot serve, naming what to change."""
    problems = []
    if workers > 1 and not settings.database_url.startswith("postgres"):
        problems.append(
            FieldViolation("database_url", "several workers share state through PostgreSQL; SQLite serves one")
        )
    for name in ("grpc_listen", "http_listen"):
        listen = getattr(settings, name)
        if workers > 1 and listen and listen.rsplit(":", 1)[1] == "0":
            problems.append(FieldViolation(name, "workers share one fixed port; port 0 would give each its own"))
    if problems:
        raise FailedPrecondition(
            f"--workers {workers} cannot run with these settings: {'; '.join(p.description for p in problems)}",
            reason="WORKERS_NEED_POSTGRESQL" if problems[0].field == "database_url" else "WORKERS_NEED_FIXED_PORT",
            violations=problems,
        )


async def run_workers(settings: Settings, workers: int, worker_argv: Sequence[str]) -> int:
    """Start `workers` processes of `worker_argv`, keep them running until a signal, then stop them all."""
    from exchange.server import refuse_busy_ports

    check_workers(settings, workers)
    refuse_busy_ports(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    processes: dict[int, asyncio.subprocess.Process] = {}
    restarts: list[float] = []
    # One /metrics for all workers, whichever of them a scrape reaches.
    shared_metrics = metrics.workers_environment()

    async def start(index: int) -> None:
        env = {**os.environ, **shared_metrics, "EXCHANGE_WORKER_INDEX": str(index)}
        processes[index] = await asyncio.create_subprocess_exec(*worker_argv, env=env)
        log.info("worker %d started (pid %d)", index, processes[index].pid)

    for index in range(workers):
        await start(index)
    exit_code = 0
    while not stopping.is_set():
        waits = {asyncio.ensure_future(p.wait()): i for i, p in processes.items()}
        stop_wait = asyncio.ensure_future(stopping.wait())
        done, _ = await asyncio.wait([*waits, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        for future in waits:
            if future not in done:
                future.cancel()
        stop_wait.cancel()
        if stopping.is_set():
            break
        for future in done:
            if future in waits:
                index = waits[future]
                code = processes[index].returncode
                metrics.worker_exited(shared_metrics, processes[index].pid)
                now = time.monotonic()
                restarts[:] = [t for t in restarts if now - t < 60] + [now]
                if len(restarts) > MAX_RESTARTS_PER_MINUTE:
                    log.error("worker %d exited with %s; too many restarts in a minute, stopping", index, code)
                    stopping.set()
                    exit_code = 1
                    break
                log.warning("worker %d exited with %s; restarting it", index, code)
                await asyncio.sleep(RESTART_DELAY_SECONDS)
                await start(index)
    for process in processes.values():
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    metrics.workers_stopped(shared_metrics)
    return exit_code


def worker_argv(argv: Sequence[str]) -> list[str]:
    """The command line of one worker: this `exchange serve` without --workers, marked as a worker."""
    args: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        args.append(arg)
    return [sys.executable, "-c", "from exchange.cli import main; main()", *args, "--worker-of", str(os.getpid())]
