"""The hub is the only door to an adapter, over the PKI `exchange init` writes, with real adapter processes.

One mTLS hub configured with exactly what `init_pki` writes, and adapter processes with certificates from
`issue_adapter_certificate`: a fetch goes through end to end; a department's certificate (from the same CA)
calling an adapter directly is refused on every Provider RPC and logged by the adapter; an adapter at
another department's endpoint is refused by the hub and the fetch's log entry says so; revoked certificates
are refused by both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.config import TlsConfig
from adapters.server import start_provider
from adapters.signing import DocumentSigner
from catalog.specs import parse_service_item
from exchange.adapter_client import AdapterClient, TransportSecurity
from exchange.auth.keys import generate_ed25519
from exchange.auth.pki import (
    PkiPaths,
    init_pki,
    issue_adapter_certificate,
    issue_department_certificate,
    issue_hub_client_certificate,
    issue_server_certificate,
    revoke_certificate,
)
from exchange.client import ClientTLS, HubClient
from exchange.errors import Unauthenticated, Unavailable
from exchange.status import from_rpc_error
from exchange.testing import HubFixture, start_test_hub, system_caller
from exchange.v1 import provider_pb2, provider_pb2_grpc

from .hubsetup import CONSUMER, AdapterProcess, grant, open_case, spawn_adapter
from .test_issuer_signatures import FIELDS, variant_spec, write_licences

pytestmark = pytest.mark.asyncio(loop_scope="module")

OWNERS = ("SAMR", "MNR")  # MNR's endpoint is served by an impostor presenting SAMR's adapter certificate


@dataclass
class World:
    hub: HubFixture
    pki: PkiPaths
    adapters: dict[str, AdapterProcess]
    logs: dict[str, Path]
    client: HubClient
    case_id: str
    uscc: str
    folder: Path

    def credentials(self, cert: Path, key: Path) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.pki.ca_cert.read_bytes(), key.read_bytes(), cert.read_bytes())

    async def deny_entries(self) -> list[tuple[str, str, str, str]]:
        return [
            (e.reason, e.caller_department, e.subject_id, e.dataset)
            for e in await self.hub.log_entries()
            if e.decision == "deny"
        ]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp_path = tmp_path_factory.mktemp("door")
    # Exactly what `exchange init` writes, where the hub's settings look for it by default.
    pki = init_pki(tmp_path / "hub" / "pki")
    for department in (CONSUMER, "FIRE"):
        issue_department_certificate(pki.directory, department)
    issue_adapter_certificate(pki.directory, "SAMR", hosts=("127.0.0.1",))
    # A second hub client certificate, revoked before the adapters start: they must refuse it.
    issue_hub_client_certificate(pki.directory, out_dir=tmp_path / "revoked")
    revoke_certificate(pki.directory, certificate=tmp_path / "revoked" / "hub-client.crt")
    hub = await start_test_hub(tmp_path / "hub", insecure_dev=False)
    parquet = tmp_path / "licences.parquet"
    uscc = write_licences(parquet)
    source = {"type": "files", "path": str(parquet), "key_column": "unified_social_credit_code"}
    keys = {code: generate_ed25519() for code in OWNERS}
    samr_tls = {
        "cert": str(pki.directory / "SAMR-adapter.crt"),
        "key": str(pki.directory / "SAMR-adapter.key"),
        "client_ca": str(pki.ca_cert),
        "crl": str(pki.directory / "crl.pem"),
    }

    def datasets(code: str) -> list[dict[str, object]]:
        spec = variant_spec(tmp_path, code)
        return [{"dataset": f"licence_{code.lower()}", "version": "1.0", "spec": str(spec), "source": source}]

    logs = {code: tmp_path / f"{code.lower()}-adapter.log" for code in OWNERS}
    spawned = await asyncio.gather(
        *(
            spawn_adapter(tmp_path / code.lower(), code, datasets(code), keys[code], tls=samr_tls, log_file=logs[code])
            for code in OWNERS
        )
    )
    adapters = dict(zip(OWNERS, spawned, strict=True))
    try:
        for code, adapter in adapters.items():
            await hub.add_department(
                code, adapter_endpoint=adapter.endpoint, signing_public_key=keys[code].public_key()
            )
        consumer = await hub.add_department(CONSUMER)
        await hub.add_department("FIRE")
        item: dict[str, Any] = {"code": "licence_check", "name": "Licence check", "lead_department": CONSUMER}
        item.update(time_limit_days=5, required_materials=[])
        for code in OWNERS:
            await hub.register_example_dataset("business_licence", code=f"licence_{code.lower()}", owner=code)
            item["required_materials"].append({"dataset": f"licence_{code.lower()}", "fields": list(FIELDS)})
        await hub.running.registry.register_service_item(parse_service_item(item), system_caller())
        for code in OWNERS:
            await grant(hub, f"licence_{code.lower()}", FIELDS)
        case_id = await open_case(hub, "licence_check", CONSUMER, uscc)
        tls = ClientTLS.from_files(pki.ca_cert, pki.directory / f"{CONSUMER}.crt", pki.directory / f"{CONSUMER}.key")
        client = HubClient.connect(
            hub.address, department=CONSUMER, officer="li.wei", key=consumer.token_key, kid=consumer.token_kid, tls=tls
        )
        hub.clients.append(client)
        yield World(hub, pki, adapters, logs, client, case_id, uscc, tmp_path)
    finally:
        for adapter in adapters.values():
            await adapter.stop()
        await hub.stop()


async def test_the_documented_pki_can_fetch(world: World) -> None:
    document = await world.client.fetch("licence_samr", world.uscc, case_id=world.case_id)
    assert document.data["unified_social_credit_code"] == world.uscc
    assert document.provenance.issuer == "SAMR"


# --- an adapter answers the hub alone ---------------------------------------------------------------

PROVIDER_CALLS: dict[str, Callable[[provider_pb2_grpc.ProviderServiceAsyncStub, str], Awaitable[Any]]] = {
    "Lookup": lambda stub, key: stub.Lookup(provider_pb2.LookupRequest(dataset="licence_samr", key=key), timeout=5),
    "Status": lambda stub, key: stub.Status(provider_pb2.StatusRequest(dataset="licence_samr", key=key), timeout=5),
    "Describe": lambda stub, key: stub.Describe(provider_pb2.DescribeRequest(), timeout=5),
    "Scan": lambda stub, key: _drain(
        stub.Scan(provider_pb2.ProviderServiceScanRequest(dataset="licence_samr"), timeout=5)
    ),
}


async def _drain(stream: Any) -> list[Any]:
    return [message async for message in stream]


async def call_adapter(world: World, credentials: grpc.ChannelCredentials, rpc: str) -> aio.AioRpcError:
    """One Provider RPC straight to SAMR's adapter process; the error it ended with (it must end with one)."""
    async with aio.secure_channel(world.adapters["SAMR"].endpoint, credentials) as channel:
        with pytest.raises(aio.AioRpcError) as refused:
            await PROVIDER_CALLS[rpc](provider_pb2_grpc.ProviderServiceStub(channel), world.uscc)
    return refused.value


@pytest.mark.parametrize("rpc", sorted(PROVIDER_CALLS))
async def test_a_department_certificate_calling_an_adapter_directly_is_refused_and_logged(
    world: World, rpc: str
) -> None:
    # FIRE's client certificate was issued by the very CA the adapter trusts: the CA alone admits it.
    fire = world.credentials(world.pki.directory / "FIRE.crt", world.pki.directory / "FIRE.key")
    error = await call_adapter(world, fire, rpc)
    assert (error.code(), from_rpc_error(error).reason) == (grpc.StatusCode.PERMISSION_DENIED, "ADAPTER_CALLER_NOT_HUB")
    line = (
        f"adapter_call_refused department=SAMR method=/exchange.v1.ProviderService/{rpc} reason=ADAPTER_CALLER_NOT_HUB"
    )
    logged = [row for row in world.logs["SAMR"].read_text().splitlines() if line in row]
    assert logged and "identity=urn:exchange:department:FIRE" in logged[-1] and "peer=ipv4:127.0.0.1:" in logged[-1]


async def test_a_hub_client_certificate_of_another_hub_name_is_refused(world: World) -> None:
    key, cert = issue_hub_client_certificate(world.pki.directory, "other-hub", out_dir=world.folder / "other")
    error = await call_adapter(world, world.credentials(cert, key), "Lookup")
    assert (error.code(), from_rpc_error(error).reason) == (grpc.StatusCode.PERMISSION_DENIED, "ADAPTER_CALLER_NOT_HUB")


async def test_health_checking_stays_open_to_any_certificate_of_the_ca(world: World) -> None:
    fire = world.credentials(world.pki.directory / "FIRE.crt", world.pki.directory / "FIRE.key")
    async with aio.secure_channel(world.adapters["SAMR"].endpoint, fire) as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_revoked_hub_client_certificate_is_refused_by_the_adapter(world: World) -> None:
    revoked = world.folder / "revoked"
    error = await call_adapter(
        world, world.credentials(revoked / "hub-client.crt", revoked / "hub-client.key"), "Lookup"
    )
    assert (error.code(), from_rpc_error(error).reason) == (grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_REVOKED")
    assert "reason=CERTIFICATE_REVOKED" in world.logs["SAMR"].read_text()
    # A hub holding that certificate hears that the adapter refused it, not that its caller is unauthenticated.
    security = TransportSecurity(
        world.pki.ca_cert.read_bytes(),
        (revoked / "hub-client.crt").read_bytes(),
        (revoked / "hub-client.key").read_bytes(),
    )
    hub_side = AdapterClient(security, retries=0)
    try:
        with pytest.raises(Unavailable) as refused:
            await hub_side.lookup(
                "SAMR",
                world.adapters["SAMR"].endpoint,
                provider_pb2.LookupRequest(dataset="licence_samr", key=world.uscc),
            )
        assert refused.value.reason == "ADAPTER_REFUSED_HUB"
    finally:
        await hub_side.close()


# --- the hub checks who answers at a department's endpoint ------------------------------------------


async def test_an_adapter_presenting_another_departments_certificate_is_refused_and_logged(world: World) -> None:
    with pytest.raises(Unavailable) as refused:
        await world.client.fetch("licence_mnr", world.uscc, case_id=world.case_id)
    assert refused.value.reason == "ADAPTER_IDENTITY_MISMATCH"
    assert "urn:exchange:adapter:SAMR" in refused.value.message
    entries = [e for e in await world.hub.log_entries() if e.dataset == "licence_mnr"]
    assert [(e.reason, e.caller_department, e.outcome) for e in entries][-1:] == [
        ("ADAPTER_IDENTITY_MISMATCH", CONSUMER, "UNAVAILABLE")
    ]


@pytest.mark.parametrize("profile", ["department client", "plain server"])
async def test_a_certificate_without_the_adapter_identity_is_refused_at_the_endpoint(
    world: World, profile: str
) -> None:
    directory = world.folder / profile.replace(" ", "-")
    if profile == "department client":
        key, cert = issue_department_certificate(world.pki.directory, "SAMR", out_dir=directory)
    else:
        key, cert = issue_server_certificate(world.pki.directory, "samr", hosts=("127.0.0.1",), out_dir=directory)
    from .test_provider_server import Registry, served

    running = await start_provider(
        Registry(served()),
        DocumentSigner("SAMR", "samr-1", generate_ed25519()),
        listen="127.0.0.1:0",
        tls=TlsConfig(cert, key, world.pki.ca_cert),
    )
    hub_side = AdapterClient(world.hub.hub.adapters.security, retries=0)
    try:
        with pytest.raises(Unavailable) as refused:
            await hub_side.lookup(
                "SAMR", f"127.0.0.1:{running.port}", provider_pb2.LookupRequest(dataset="business_licence", key="x")
            )
        assert refused.value.reason == "ADAPTER_IDENTITY_MISMATCH"
    finally:
        await hub_side.close()
        await running.stop(grace=0)


# --- revocation at the hub ------------------------------------------------------------------------


async def test_a_revoked_department_certificate_is_refused_by_the_hub_and_logged(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, cert = issue_department_certificate(world.pki.directory, CONSUMER, out_dir=world.folder / "svc-old")
    consumer = world.hub.departments[CONSUMER]
    old = HubClient.connect(
        world.hub.address,
        department=CONSUMER,
        officer="li.wei",
        key=consumer.token_key,
        kid=consumer.token_kid,
        tls=ClientTLS.from_files(world.pki.ca_cert, cert, key),
    )
    try:
        assert (await old.fetch("licence_samr", world.uscc, case_id=world.case_id)).data
        revoke_certificate(world.pki.directory, certificate=cert)
        monkeypatch.setattr(world.hub.hub.revocations, "_checked_at", -float("inf"))  # no wait for the next stat
        with pytest.raises(Unauthenticated) as refused:
            await old.fetch("licence_samr", world.uscc, case_id=world.case_id)
        assert refused.value.reason == "CERTIFICATE_REVOKED"
        assert ("CERTIFICATE_REVOKED", CONSUMER) in [(r, d) for r, d, _, _ in await world.deny_entries()]
        # The department's current certificate still works.
        assert (await world.client.fetch("licence_samr", world.uscc, case_id=world.case_id)).data
    finally:
        await old.close()
