"""/metrics under `exchange serve --workers 2`: whichever worker a scrape reaches, it serves every worker's
series (prometheus_client's multiprocess mode through a directory the parent gives the workers)."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from exchange.testing import free_port

EXCHANGE = str(Path(sys.executable).with_name("exchange"))


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXCHANGE, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


async def _rpcs_counted(url: str, context: ssl.SSLContext) -> float:
    """All RPCs /metrics counts, asked on a fresh connection (so SO_REUSEPORT may hand it to either worker)."""
    connector = aiohttp.TCPConnector(force_close=True, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session, session.get(f"{url}/metrics") as answer:
        text = await answer.text()
    rpcs = sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "exchange_rpcs"
        for sample in family.samples
        if sample.name == "exchange_rpcs_total"
    )
    return rpcs


async def test_every_worker_serves_the_series_of_all_workers(tmp_path: Path, pg_database: str) -> None:
    grpc_port, http_port = free_port(), free_port()
    env = {
        "EXCHANGE_DATABASE_URL": pg_database,
        "EXCHANGE_GRPC_LISTEN": f"127.0.0.1:{grpc_port}",
        "EXCHANGE_HTTP_LISTEN": f"127.0.0.1:{http_port}",
    }
    data = tmp_path / "hub"
    initialised = await asyncio.to_thread(_run, "init", "--data-dir", str(data), env=env)
    assert initialised.returncode == 0, initialised.stdout + initialised.stderr
    parent = subprocess.Popen(
        [EXCHANGE, "serve", "--data-dir", str(data), "--workers", "2"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"https://127.0.0.1:{http_port}"
    context = ssl.create_default_context(cafile=str(data / "pki" / "ca.crt"))
    try:
        pids: set[int] = set()
        for _ in range(100):
            connector = aiohttp.TCPConnector(force_close=True, ssl=context)
            try:
                async with aiohttp.ClientSession(connector=connector) as session, session.get(f"{url}/healthz") as h:
                    pids.add((await h.json())["pid"])
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
            if len(pids) == 2:
                break
        assert len(pids) == 2, "both workers answer on the shared port"
        # One gRPC call, served by one of the two workers.
        listed = await asyncio.to_thread(
            _run, "departments", "list", "--profile", str(data / "admin" / "profile.yaml"), env=env
        )
        assert listed.returncode == 0, listed.stdout + listed.stderr
        counts = [await _rpcs_counted(url, context) for _ in range(12)]
        # Without a shared directory about half the scrapes reach the worker that served nothing and say 0.
        assert min(counts) >= 1 and len(set(counts)) == 1, counts
    finally:
        parent.send_signal(signal.SIGTERM)
        try:
            parent.wait(timeout=60)
        finally:
            if parent.poll() is None:
                parent.kill()
    assert parent.returncode == 0, parent.stderr.read() if parent.stderr else ""
