"""Three hub processes on one PostgreSQL behind a real haproxy (TCP mode, mTLS end to end), with one killed.

The balancer does not terminate TLS, so every hub sees the department's own certificate. Under a bounded
load one hub is SIGKILLed: clients retry through the balancer, every receipt they were given is in the log,
and the log verifies. A revocation made on one hub bites on another at once, and concurrent attaches on two
hubs make one issuer call.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest

from adapters.server import start_provider
from adapters.signing import DocumentSigner
from exchange.audit.entry import encode_entry
from exchange.audit.merkle import leaf_hash, root_from_leaf_hashes
from exchange.auth.identity import Role
from exchange.client import HubClient
from exchange.errors import ExchangeError, PermissionDenied
from exchange.testing import PG_URL, HubFixture, free_port, start_test_hub
from tests.integration.hub.test_fetch import MemoryAdapter, licence

EXCHANGE = str(Path(sys.executable).with_name("exchange"))
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
FETCHES, CONCURRENCY, KILL_AFTER = 36, 4, 12
RETRIES: list[str] = []


def _serving(process: subprocess.Popen[str]) -> bool:
    """Read a hub's log until it says it serves (then keep draining it, so it never blocks on the pipe)."""
    assert process.stderr is not None
    for line in process.stderr:
        if "hub serving gRPC on port" in line:
            threading.Thread(target=lambda: process.stderr and process.stderr.read(), daemon=True).start()
            return True
    return False


async def _accepting(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing accepts connections on port {port}")


def _haproxy_config(front: int, backends: list[int]) -> str:
    servers = "\n".join(
        f"    server hub-{i} 127.0.0.1:{port} check inter 200ms fall 1 rise 2" for i, port in enumerate(backends)
    )
    return f"""global
    maxconn 256
defaults
    mode tcp
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch
frontend grpc
    bind 127.0.0.1:{front}
    default_backend hubs
backend hubs
    balance roundrobin
{servers}
"""


async def _fetch_with_retries(client: HubClient, key: str, case_id: str) -> object:
    """A fetch as a department system makes it: a dropped connection is retried through the balancer."""
    for attempt in range(8):
        try:
            return await client.fetch("business_licence", key, case_id=case_id)
        except ExchangeError as error:
            if error.grpc_code != grpc.StatusCode.UNAVAILABLE or attempt == 7:
                raise
            RETRIES.append(error.reason)
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


@pytest.fixture
async def control(tmp_path: Path):
    hub = await start_test_hub(tmp_path / "hub", backend="postgresql", checkpoint_interval_seconds=3600)
    try:
        yield hub
    finally:
        await hub.stop()


async def test_three_hubs_behind_haproxy_lose_nothing_when_one_is_killed(control: HubFixture, tmp_path: Path):
    hub = control
    samr = await hub.add_department("SAMR")
    for code in ("FIRE", "MNR", "PSB"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
    doc = licence(random.Random(11))
    key = doc["unified_social_credit_code"]
    dataset = await hub.running.registry.get_dataset("business_licence")
    adapter = MemoryAdapter("SAMR", [dataset], {("business_licence", key): doc})
    signer = DocumentSigner("SAMR", samr.signing_kid, samr.signing_key)
    provider = await start_provider(adapter, signer, listen="127.0.0.1:0", tls=hub.adapter_tls("SAMR"))
    processes: list[subprocess.Popen[str]] = []
    try:
        await hub.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{provider.port}")
        admin = hub.client("HUB", roles=[Role.HUB_ADMIN])
        grant = await admin.create_grant("SAMR", "business_licence", ["*"])
        case = await hub.client("SAMR").create_case("restaurant_permit", key)

        ports = [free_port() for _ in range(3)]
        env = {
            **os.environ,
            "EXCHANGE_DATABASE_URL": PG_URL,
            "EXCHANGE_DATABASE_SCHEMA": hub.pg_schema or "",
            "EXCHANGE_HTTP_LISTEN": "",
            "EXCHANGE_CHECKPOINT_INTERVAL_SECONDS": "3600",
        }
        for port in ports:
            processes.append(
                subprocess.Popen(
                    [EXCHANGE, "serve", "--data-dir", str(hub.settings.data_dir)],
                    env={**env, "EXCHANGE_GRPC_LISTEN": f"127.0.0.1:{port}"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        assert all(await asyncio.gather(*(asyncio.to_thread(_serving, p) for p in processes)))
        front = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(_haproxy_config(front, ports), encoding="utf-8")
        processes.append(subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, text=True))
        await _accepting(front)

        # A bounded load through the balancer; one hub is killed once some fetches have landed.
        receipts = []
        done = asyncio.Event()
        RETRIES.clear()

        async def worker(n: int) -> None:
            client = hub.client("SAMR", officer=f"system-{n}", address=f"127.0.0.1:{front}")
            for _ in range(FETCHES // CONCURRENCY):
                receipts.append((await _fetch_with_retries(client, key, case.id)).receipt)  # type: ignore[attr-defined]
                if len(receipts) >= KILL_AFTER:
                    done.set()

        async def killer() -> None:
            await done.wait()
            processes[1].send_signal(signal.SIGKILL)

        await asyncio.gather(killer(), *(worker(n) for n in range(CONCURRENCY)))
        assert processes[1].wait(timeout=10) == -signal.SIGKILL
        assert len(receipts) == FETCHES
        # Round robin put one of the four connections on the killed hub: its client was cut off and went on.
        assert RETRIES and set(RETRIES) <= {"UNAVAILABLE"}

        # Every receipt a client holds is in the log, and the log is one contiguous, verifiable tree.
        entries = await hub.log_entries()
        leaves = [leaf_hash(encode_entry(e)) for e in entries]
        assert [e.index for e in entries] == list(range(len(entries)))
        for receipt in receipts:
            assert leaves[receipt.index] == receipt.leaf_hash
        size, root = await hub.hub.access_log.head()
        assert size == len(leaves) and root == root_from_leaf_hashes(leaves)

        # A grant revoked on one surviving hub is refused on the other at once.
        first, third = (f"127.0.0.1:{ports[i]}" for i in (0, 2))
        await hub.client("HUB", roles=[Role.HUB_ADMIN], address=first).call(
            admin._stubs.access.RevokeGrant, _revoke(grant.id)
        )
        with pytest.raises(PermissionDenied) as refused:
            await hub.client("SAMR", address=third).fetch("business_licence", key, case_id=case.id)
        assert refused.value.reason == "GRANT_REVOKED"

        # Concurrent attaches of one material on two hubs make one issuer call.
        await admin.create_grant("SAMR", "business_licence", ["*"])
        other = await hub.client("SAMR").create_case("restaurant_permit", key)
        before = adapter.lookups
        answers = await asyncio.gather(
            *(
                hub.client("SAMR", address=address).attach_material(other.id, "business_licence", key)
                for address in (first, third)
            )
        )
        assert adapter.lookups - before == 1
        assert sum(fetched for _, fetched in answers) == 1
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        await provider.stop(grace=0.1)


def _revoke(grant_id: str):
    from exchange.v1 import access_pb2

    return access_pb2.RevokeGrantRequest(id=grant_id, reason="cluster test")
