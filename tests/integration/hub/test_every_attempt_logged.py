"""Every attempt leaves an access-log entry: cancellations, deadline expiries, database errors, unparsable requests.

The adapters here are real Provider servers of ours on loopback whose source stalls (a department's system
that hangs), the database failure is a real one (a table renamed under the running hub), and the garbage
request is raw bytes on a raw channel, as any client could send.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from grpc import aio
from grpc_status import rpc_status

from adapters.server import start_provider
from adapters.signing import DocumentSigner
from exchange.audit.entry import AccessLogEntry
from exchange.auth.identity import Role
from exchange.auth.keys import generate_ed25519
from exchange.errors import DeadlineExceeded
from exchange.testing import HubFixture, start_test_hub
from exchange.v1 import access_pb2, cases_pb2, common_pb2, exchange_pb2, provider_pb2

from ..adapters.test_scan import finish_world, scan_request
from ..adapters.test_scan_relay import RawAdapter, register, serve
from .test_fetch import MemoryAdapter, licence


class StallingAdapter(MemoryAdapter):
    """A department whose own system hangs on every lookup until released."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.called = asyncio.Event()
        self.release = asyncio.Event()

    async def lookup(self, dataset: Any, key: str) -> Any:
        self.called.set()
        await self.release.wait()
        return await super().lookup(dataset, key)


@dataclass
class FetchWorld:
    hub: HubFixture
    adapter: StallingAdapter
    officer: Any
    case: str
    uscc: str
    stop: list[Any] = field(default_factory=list)

    def request(self, **changes: Any) -> exchange_pb2.FetchRequest:
        values: dict[str, Any] = {
            "dataset": "business_licence",
            "key": self.uscc,
            "purpose": common_pb2.Purpose(case_id=self.case),
        }
        values.update(changes)
        return exchange_pb2.FetchRequest(**values)


async def make_fetch_world(hub: HubFixture) -> FetchWorld:
    """SAMR's adapter (stalling), a restaurant permit case led by SAMR, and a grant."""
    doc = licence(random.Random(11))
    samr = await hub.add_department("SAMR")
    for code in ("FIRE", "MNR", "PSB", "SVC"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
    ds = await hub.running.registry.get_dataset("business_licence")
    adapter = StallingAdapter("SAMR", [ds], {("business_licence", doc["unified_social_credit_code"]): doc})
    provider = await start_provider(
        adapter,
        DocumentSigner("SAMR", samr.signing_kid, samr.signing_key),
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("SAMR"),
    )
    await hub.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{provider.port}")
    officer = hub.client("SAMR")
    created = await officer.call(
        officer._stubs.cases.CreateCase,
        cases_pb2.CreateCaseRequest(
            service_item="restaurant_permit",
            applicant_id=doc["unified_social_credit_code"],
            applicant_kind="organisation",
        ),
    )
    await hub.client("HUB", roles=[Role.HUB_ADMIN]).create_grant("SAMR", "business_licence", ["*"])
    return FetchWorld(hub, adapter, officer, created.case.id, doc["unified_social_credit_code"], [provider])


@pytest.fixture
async def fetch_world(hub: HubFixture) -> AsyncIterator[FetchWorld]:
    world = await make_fetch_world(hub)
    try:
        yield world
    finally:
        world.adapter.release.set()
        for provider in world.stop:
            await provider.stop(grace=0)


async def entry_where(hub: HubFixture, action: str, before: int) -> AccessLogEntry:
    """The first entry for action after `before`, waiting for it (a cancelled call is logged as the hub notices)."""
    for _ in range(250):
        found = [e for e in (await hub.log_entries())[before:] if e.action == action]
        if found:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {action} entry was written")


def reason_of(error: aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None, "the status carries google.rpc details"
    for detail in status.details:
        from google.rpc import error_details_pb2

        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    raise AssertionError("no ErrorInfo in the status")


# --- cancellation and deadlines --------------------------------------------------------------------


async def test_a_fetch_cancelled_by_the_caller_after_the_adapter_was_called_leaves_an_entry(fetch_world):
    w = fetch_world
    before = len(await w.hub.log_entries())
    call = w.officer._stubs.exchange.Fetch(w.request(), metadata=w.officer.metadata(), timeout=30)
    await w.adapter.called.wait()
    call.cancel()
    entry = await entry_where(w.hub, "exchange.fetch", before)
    assert (entry.outcome, entry.reason, entry.decision) == ("CANCELLED", "CANCELLED", "allow")
    assert "adapter called" in entry.message
    assert (entry.caller_department, entry.case_id, entry.dataset) == ("SAMR", w.case, "business_licence")


async def test_a_fetch_past_the_callers_deadline_leaves_an_entry_saying_the_adapter_was_called(fetch_world):
    w = fetch_world
    before = len(await w.hub.log_entries())
    with pytest.raises(DeadlineExceeded):
        await w.officer.call(w.officer._stubs.exchange.Fetch, w.request(), timeout=0.6)
    entry = await entry_where(w.hub, "exchange.fetch", before)
    assert entry.outcome == "DEADLINE_EXCEEDED"
    assert "adapter called" in entry.message
    assert entry.decision == "allow"  # authorised; the issuer did not answer in time


class StallingScan(RawAdapter):
    """Streams the schema, `batches` batches, then hangs (or hangs before the schema when batches is -1)."""

    def __init__(self, batches: int) -> None:
        super().__init__(register(3000), generate_ed25519())
        self.batches = batches
        self.release = asyncio.Event()

    async def scan(self, request: provider_pb2.ProviderServiceScanRequest, context: object) -> AsyncIterator[bytes]:
        sent = -1
        async for response in super().scan(request, context):
            if sent >= self.batches:
                await self.release.wait()
            sent += 1
            yield response
        await self.release.wait()


@dataclass
class ScanSetup:
    hub: HubFixture
    adapter: StallingScan
    world: Any


@pytest.fixture
async def scan_setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ScanSetup]:
    """A hub with short scan limits and a table adapter that stalls after `batches` batches (parametrised)."""
    batches: int = getattr(request, "param", 1)
    hub = await start_test_hub(tmp_path / "hub", scan_first_message_timeout_seconds=0.5, scan_idle_timeout_seconds=0.5)
    adapter = StallingScan(batches)
    server, port = await serve(adapter, hub)
    try:
        yield ScanSetup(hub, adapter, await finish_world(hub, f"127.0.0.1:{port}", adapter.key))
    finally:
        adapter.release.set()
        await server.stop(grace=0)
        await hub.stop()


async def test_a_scan_cancelled_mid_stream_leaves_an_entry_with_the_rows_sent(tmp_path):
    hub = await start_test_hub(tmp_path / "hub")  # default (long) scan limits: only the caller stops this scan
    adapter = StallingScan(1)
    server, port = await serve(adapter, hub)
    try:
        world = await finish_world(hub, f"127.0.0.1:{port}", adapter.key)
        before = len(await hub.log_entries())
        call = world.client._stubs.exchange.Scan(
            scan_request(world, batch_rows=500), metadata=world.client.metadata(), timeout=30
        )
        stream = call.__aiter__()
        await stream.__anext__()  # schema and receipt
        batch = await stream.__anext__()
        assert batch.rows == 500
        call.cancel()
        entries = []
        for _ in range(250):
            entries = [e for e in (await hub.log_entries())[before:] if e.action == "exchange.scan"]
            if len(entries) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(entries) == 2, "the scan's entry, then the entry of its interruption"
        stopped = entries[1]
        assert (stopped.outcome, stopped.reason) == ("CANCELLED", "CANCELLED")
        assert "500 rows" in stopped.message
    finally:
        adapter.release.set()
        await server.stop(grace=0)
        await hub.stop()


@pytest.mark.parametrize("scan_setup", [1], indirect=True)
async def test_a_scan_whose_adapter_goes_silent_is_cut_off_and_logged_with_the_rows_relayed(scan_setup):
    hub, world = scan_setup.hub, scan_setup.world
    before = len(await hub.log_entries())
    received = []
    with pytest.raises(DeadlineExceeded) as stopped:
        async for response in world.client.stream(
            world.client._stubs.exchange.Scan, scan_request(world, batch_rows=500)
        ):
            received.append(response)
    assert len(received) == 2  # the schema, one batch
    assert stopped.value.reason == "ADAPTER_TIMEOUT"
    assert "0.5" in stopped.value.message
    entries = [e for e in (await hub.log_entries())[before:] if e.action == "exchange.scan"]
    assert [e.reason for e in entries] == ["", "ADAPTER_TIMEOUT"]
    assert "500 rows" in entries[1].message


@pytest.mark.parametrize("scan_setup", [-1], indirect=True)
async def test_a_scan_whose_adapter_sends_nothing_times_out_and_is_logged(scan_setup):
    hub, world = scan_setup.hub, scan_setup.world
    before = len(await hub.log_entries())
    with pytest.raises(DeadlineExceeded) as stopped:
        async for _ in world.client.stream(world.client._stubs.exchange.Scan, scan_request(world)):
            pass
    assert stopped.value.reason == "ADAPTER_TIMEOUT"
    (entry,) = [e for e in (await hub.log_entries())[before:] if e.action == "exchange.scan"]
    assert (entry.reason, entry.outcome) == ("ADAPTER_TIMEOUT", "DEADLINE_EXCEEDED")


# --- unexpected errors -----------------------------------------------------------------------------


@pytest.fixture
async def backend_fetch_world(any_backend_hub: HubFixture) -> AsyncIterator[FetchWorld]:
    world = await make_fetch_world(any_backend_hub)
    world.adapter.release.set()
    try:
        yield world
    finally:
        for provider in world.stop:
            await provider.stop(grace=0)


async def test_a_database_read_error_is_internal_without_type_names_and_logged(backend_fetch_world):
    w = backend_fetch_world
    before = len(await w.hub.log_entries())
    async with w.hub.hub.db.begin() as conn:  # a real failure: the grants table is gone under the running hub
        await conn.execute(sa.text("ALTER TABLE grants RENAME TO grants_elsewhere"))
    try:
        call = w.officer._stubs.exchange.Fetch(
            w.request(), metadata=(*w.officer.metadata(), ("x-request-id", "req-db-failure-1")), timeout=10
        )
        with pytest.raises(aio.AioRpcError) as failed:
            await call
    finally:
        async with w.hub.hub.db.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE grants_elsewhere RENAME TO grants"))
    error = failed.value
    assert error.code() == grpc.StatusCode.INTERNAL
    details = error.details() or ""
    for leak in ("<class", "Error", "sqlalchemy", "Traceback", "grants_elsewhere", "sqlite", "asyncpg"):
        assert leak not in details
    assert "req-db-failure-1" in details
    entry = await entry_where(w.hub, "exchange.fetch", before)
    assert (entry.decision, entry.reason, entry.request_id) == ("deny", "INTERNAL", "req-db-failure-1")
    assert entry.caller_department == "SAMR"


# --- requests the server cannot parse --------------------------------------------------------------


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff\xff\xff", b"\x0a\x02\xff\xfe", b"\x12\x80"])
async def test_garbage_bytes_for_fetch_are_invalid_argument_and_logged(fetch_world, garbage):
    w = fetch_world
    before = len(await w.hub.log_entries())
    raw = w.officer.channel.unary_unary("/exchange.v1.ExchangeService/Fetch", request_serializer=None)
    with pytest.raises(aio.AioRpcError) as refused:
        await raw(garbage, metadata=w.officer.metadata(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "the request is not a valid exchange.v1.FetchRequest message"
    assert reason_of(refused.value) == "REQUEST_MALFORMED"
    entry = await entry_where(w.hub, "exchange.fetch", before)
    assert (entry.decision, entry.reason, entry.caller_department) == ("deny", "REQUEST_MALFORMED", "SAMR")


async def test_garbage_bytes_for_a_stream_are_invalid_argument_and_logged(fetch_world):
    w = fetch_world
    before = len(await w.hub.log_entries())
    raw = w.officer.channel.unary_stream("/exchange.v1.ExchangeService/Scan", request_serializer=None)
    with pytest.raises(aio.AioRpcError) as refused:
        async for _ in raw(b"\xff\xff\xff", metadata=w.officer.metadata(), timeout=10):
            pass
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "exchange.v1.ScanRequest" in (refused.value.details() or "")
    entry = await entry_where(w.hub, "exchange.scan", before)
    assert (entry.decision, entry.reason) == ("deny", "REQUEST_MALFORMED")


async def test_an_attach_material_cancelled_while_the_adapter_works_leaves_an_entry(fetch_world):
    w = fetch_world
    before = len(await w.hub.log_entries())
    request = cases_pb2.AttachMaterialRequest(case_id=w.case, dataset="business_licence", key=w.uscc)
    call = w.officer._stubs.cases.AttachMaterial(request, metadata=w.officer.metadata(), timeout=30)
    await w.adapter.called.wait()
    call.cancel()
    entry = await entry_where(w.hub, "cases.material.attach", before)
    assert (entry.outcome, entry.reason, entry.case_id) == ("CANCELLED", "CANCELLED", w.case)
    assert "in flight" in entry.message


async def test_a_refusal_the_domain_does_not_log_is_logged_by_the_guard(fetch_world):
    w = fetch_world
    admin = w.hub.client("HUB", roles=[Role.HUB_ADMIN])
    before = len(await w.hub.log_entries())
    with pytest.raises(aio.AioRpcError) as refused:
        await admin._stubs.access.GetGrant(
            access_pb2.GetGrantRequest(id="g-nowhere"), metadata=admin.metadata(), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    entry = await entry_where(w.hub, "grants.read", before)
    assert (entry.decision, entry.reason, entry.caller_department) == ("deny", "GRANT_NOT_FOUND", "HUB")


async def test_callers_with_short_deadlines_cannot_open_the_adapters_circuit_for_everyone(fetch_world):
    """A caller's own deadline cutting an adapter call short is not the adapter's failure."""
    from exchange.adapter_client import AdapterClient

    w = fetch_world
    # The hub's own transport to adapters (TLS with its client certificate), in a client of the test's.
    client = AdapterClient(w.hub.hub.adapters.security, timeout_seconds=2.0, breaker_failures=3)
    endpoint = f"127.0.0.1:{w.stop[0].port}"
    request = provider_pb2.LookupRequest(dataset="business_licence", key=w.uscc)
    try:
        for _ in range(4):
            with pytest.raises(DeadlineExceeded):
                await client.lookup("SAMR", endpoint, request, deadline=0.1)
        assert not client.breaker("SAMR").open
        w.adapter.release.set()
        answer = await client.lookup("SAMR", endpoint, request)
        assert answer.found
    finally:
        await client.close()
