"""The fetch benchmark's worker comparison at tiny sizes (a file of its own: the slowest smoke run, so that it
runs beside the others on another pytest-xdist worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.bench.harness import run_bench


# Two hubs set up on PostgreSQL, each then restarted as `exchange serve --workers N`: slower than the rest.
@pytest.mark.timeout(300)
def test_fetch_benchmark_compares_hub_workers_on_the_secure_path(tmp_path: Path) -> None:
    body = run_bench(
        tmp_path, "fetch", "--workers", "1,2", "--duration", "0.4", "--concurrency", "2", "--rows", "300", timeout=300
    )
    runs = body["figures"]["runs"]
    assert [(r["transport"], r["workers"], r["concurrency"]) for r in runs] == [("mTLS", 1, 2), ("mTLS", 2, 2)]
    assert all(r["requests"] > 0 and r["errors"] == 0 for r in runs), runs
    assert all(r["server_cpu_ms_per_request"] > 0 and r["adapter_cpu_ms_per_request"] > 0 for r in runs), runs
