"""`exchange health` (what the image's HEALTHCHECK and the Kubernetes probes run) and `exchange migrate`
(the migration Job), as an operator runs them: real processes against a real hub in its default TLS setup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from exchange.auth.pki import init_pki
from exchange.testing import start_test_hub

EXCHANGE = [sys.executable, "-m", "exchange.cli"]


def exchange(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    return subprocess.run([*EXCHANGE, *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd)


async def test_health_answers_serving_over_mtls_with_the_hubs_own_client_certificate(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    init_pki(data / "pki", hub_name="exchange-hub")
    hub = await start_test_hub(data, insecure_dev=False)
    try:
        address = hub.address
        before = len(await hub.log_entries())
        checked = await _run_off_loop("health", "--data-dir", str(data), "--address", address, cwd=tmp_path)
        assert (checked.returncode, checked.stdout.strip()) == (0, "SERVING"), checked.stderr
        logged = len(await hub.log_entries()) - before
    finally:
        await hub.stop()
    assert logged == 0  # health checking is public: no token, no access-log entry
    down = await _run_off_loop("health", "--data-dir", str(data), "--address", address, "--timeout", "1", cwd=tmp_path)
    assert down.returncode == 1  # never 2: Docker reserves it
    assert f"the hub at {address} did not answer the health check" in down.stderr


async def test_health_without_the_hubs_certificates_says_which_setting(tmp_path: Path) -> None:
    refused = await _run_off_loop("health", "--data-dir", str(tmp_path / "none"), cwd=tmp_path)
    assert refused.returncode == 1
    assert "tls_client_ca" in refused.stderr and "exchange init" in refused.stderr


async def _run_off_loop(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command in a thread, so the hub on this test's event loop keeps answering."""
    import asyncio

    return await asyncio.to_thread(exchange, *args, cwd=cwd)


def test_migrate_brings_a_new_database_to_the_newest_migration_and_is_idempotent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = exchange("migrate", "--data-dir", str(data), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = exchange("migrate", "--data-dir", str(data), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    head = first.stdout.strip().rsplit("(", 1)[1].rstrip(")")
    engine = sa.create_engine(f"sqlite:///{data / 'exchange.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head
        assert sa.inspect(conn).has_table("log_entries")
    engine.dispose()
