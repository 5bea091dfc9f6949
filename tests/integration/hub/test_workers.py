"""`exchange serve --workers N`: several hub processes share the ports on one host, over one PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp
import psutil

from exchange.testing import free_port

EXCHANGE = str(Path(sys.executable).with_name("exchange"))


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXCHANGE, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def _both_serving(parent: subprocess.Popen[str], workers: int = 2) -> bool:
    """Read the workers' log (inherited stderr) until each says it serves, or the parent exits."""
    assert parent.stderr is not None
    serving = 0
    for line in parent.stderr:
        serving += "hub serving gRPC on port" in line
        if serving == workers:
            return True
    return False


async def _pids_behind(url: str, ca: Path, tries: int = 80) -> set[int]:
    """Ask /healthz on fresh connections until two processes answered (or tries run out)."""
    context = ssl.create_default_context(cafile=str(ca))
    seen: set[int] = set()
    for _ in range(tries):
        try:
            connector = aiohttp.TCPConnector(force_close=True, ssl=context)
            async with aiohttp.ClientSession(connector=connector) as session, session.get(url) as answer:
                seen.add((await answer.json())["pid"])
        except aiohttp.ClientError:
            await asyncio.sleep(0.2)
        if len(seen) >= 2:
            break
    return seen


async def test_two_workers_share_the_ports_and_a_foreign_hub_is_refused(tmp_path: Path, pg_database: str) -> None:
    grpc_port, http_port = free_port(), free_port()
    env = {
        "EXCHANGE_DATABASE_URL": pg_database,
        "EXCHANGE_GRPC_LISTEN": f"127.0.0.1:{grpc_port}",
        "EXCHANGE_HTTP_LISTEN": f"127.0.0.1:{http_port}",
    }
    data = tmp_path / "hub"
    initialised = _run("init", "--data-dir", str(data), env=env)
    assert initialised.returncode == 0, initialised.stdout + initialised.stderr
    parent = subprocess.Popen(
        [EXCHANGE, "serve", "--data-dir", str(data), "--workers", "2"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert await asyncio.to_thread(_both_serving, parent), "the two workers did not both start"
        later: list[str] = []  # keep reading, so a chatty worker never blocks on a full pipe
        threading.Thread(target=lambda: later.extend(parent.stderr or ()), daemon=True).start()
        pids = await _pids_behind(f"https://127.0.0.1:{http_port}/healthz", data / "pki" / "ca.crt")
        workers = {child.pid for child in psutil.Process(parent.pid).children(recursive=True)}
        assert len(pids) == 2 and pids <= workers, (pids, workers)
        listed = await asyncio.to_thread(
            _run, "departments", "list", "--profile", str(data / "admin" / "profile.yaml"), env=env
        )
        assert listed.returncode == 0 and "HUB" in listed.stdout, listed.stdout + listed.stderr
        foreign = await asyncio.to_thread(
            _run, "serve", "--data-dir", str(tmp_path / "other"), "--insecure-dev", env=env
        )
        assert foreign.returncode == 2 and "PORT_IN_USE" in foreign.stderr, foreign.stderr
        assert f"port {grpc_port}" in foreign.stderr
    finally:
        parent.send_signal(signal.SIGTERM)
        try:
            parent.wait(timeout=60)
        finally:
            if parent.poll() is None:
                parent.kill()
    assert parent.returncode == 0, "".join(later)
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids)


def test_several_workers_on_sqlite_are_refused_naming_the_setting(tmp_path: Path) -> None:
    refused = _run(
        "serve",
        "--data-dir",
        str(tmp_path),
        "--insecure-dev",
        "--workers",
        "2",
        env={"EXCHANGE_GRPC_LISTEN": f"127.0.0.1:{free_port()}", "EXCHANGE_HTTP_LISTEN": ""},
    )
    assert refused.returncode == 2
    assert "database_url" in refused.stderr and "WORKERS_NEED_POSTGRESQL" in refused.stderr
