"""/metrics over the hub's HTTP listener: the series an operator alerts on, after real fetches and refusals.

Counters are process-wide, so every assertion compares a scrape after the calls with one before them.
"""

from __future__ import annotations

import random
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import aiohttp
import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.sdk import Adapter
from adapters.server import start_provider
from adapters.signing import DocumentSigner
from catalog.identifiers import generate_licence_id, generate_resident_id, generate_uscc
from exchange.auth.identity import Role
from exchange.auth.pki import init_pki
from exchange.errors import NotFound, PermissionDenied, Unauthenticated, Unavailable
from exchange.testing import HubFixture, start_test_hub
from exchange.v1 import cases_pb2

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

FETCH = "/exchange.v1.ExchangeService/Fetch"
REASON = re.compile(r"^([A-Z][A-Z0-9_]*)?$")
CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
DEPARTMENT = re.compile(r"[A-Z][A-Z0-9_-]{0,31}")


async def scrape(hub: HubFixture, *, tls_ca: Path | None = None) -> str:
    """The /metrics text, read over the hub's own HTTP listener (https with the hub's CA when given)."""
    context: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(tls_ca)) if tls_ca else False
    if tls_ca is None and hub.secure:  # the test hub's HTTPS, trusting its own CA
        context = hub.http_ssl() or False
    url = f"{hub.http_url}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url, ssl=context) as response:
        assert response.status == 200
        return await response.text()


def samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


class Registry(Adapter):
    """SAMR's own system: one business licence in a dict."""

    def __init__(self, datasets, documents):
        super().__init__("SAMR", datasets)
        self.documents = documents

    async def lookup(self, dataset, key):
        return self.documents.get((dataset.code, key))


@dataclass
class World:
    hub: HubFixture
    uscc: str
    case: str
    provider: object


async def _world(hub: HubFixture) -> AsyncIterator[World]:
    """SAMR answers business-licence lookups through a real adapter; SVC's officer holds a restaurant-permit case."""
    samr = await hub.add_department("SAMR")
    for code in ("FIRE", "MNR", "PSB"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
    rng = random.Random(17)
    uscc = generate_uscc(rng)
    document = {
        "unified_social_credit_code": uscc,
        "name": "Red Lantern Catering Co., Ltd.",
        "company_type": "limited liability company",
        "legal_representative": "Wang Fang",
        "legal_representative_id": generate_resident_id(rng, birth=date(1985, 3, 2), male=False),
        "registered_capital": "500000.00",
        "established_on": "2019-05-20",
        "address": "12 Gulou East Street, Dongcheng District, Beijing",
        "business_scope": "catering services",
        "registration_authority": "Beijing Dongcheng Market Regulation Bureau",
        "status": "01",
        "licence_id": generate_licence_id(rng, type_code="11100000000013338W032", issuer_uscc=uscc),
    }
    ds = await hub.running.registry.get_dataset("business_licence")
    signer = DocumentSigner("SAMR", samr.signing_kid, samr.signing_key)
    provider = await start_provider(
        Registry([ds], {("business_licence", uscc): document}),
        signer,
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("SAMR"),
    )
    await hub.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{provider.port}")
    officer = hub.client("SAMR", officer="officer-metrics-7")
    created = await officer.call(
        officer._stubs.cases.CreateCase,
        cases_pb2.CreateCaseRequest(service_item="restaurant_permit", applicant_id=uscc, applicant_kind="organisation"),
    )
    try:
        yield World(hub, uscc, created.case.id, provider)
    finally:
        await provider.stop(grace=0.1)


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    hub = await start_test_hub(tmp_path / "hub", breaker_failures=2, adapter_retries=0)
    try:
        async for made in _world(hub):
            yield made
    finally:
        await hub.stop()


async def test_fetches_and_refusals_are_counted_by_dataset_reason_method_and_status(world: World) -> None:
    hub = world.hub
    officer = hub.clients[0]
    before = samples(await scrape(hub))

    with pytest.raises(PermissionDenied) as denied:
        await officer.fetch("business_licence", world.uscc, case_id=world.case)
    assert denied.value.reason == "NO_GRANT"
    await hub.client("HUB", roles=[Role.HUB_ADMIN]).create_grant("SAMR", "business_licence", ["*"])
    for _ in range(2):
        await officer.fetch("business_licence", world.uscc, case_id=world.case)
    with pytest.raises(NotFound) as missing:
        await officer.fetch("no_such_dataset_4711", "x", case_id=world.case)
    assert missing.value.reason == "DATASET_NOT_FOUND"
    impostor = hub.client("SAMR", officer="officer-metrics-7", roles=[Role.HUB_ADMIN])
    with pytest.raises(PermissionDenied) as unheld:
        await impostor.fetch("business_licence", world.uscc, case_id=world.case)
    unheld_reason = unheld.value.reason

    text = await scrape(hub)
    after = samples(text)
    fetches = "exchange_fetches_total"
    assert grew(before, after, fetches, dataset="business_licence", decision="deny", reason="NO_GRANT") == 1
    assert grew(before, after, fetches, dataset="business_licence", decision="allow", reason="") == 2
    # A code the catalog does not hold never becomes a label value.
    assert grew(before, after, fetches, dataset="unknown", decision="deny", reason="DATASET_NOT_FOUND") == 1
    assert "no_such_dataset_4711" not in text

    rpcs = "exchange_rpcs_total"
    assert grew(before, after, rpcs, method=FETCH, code="OK") == 2
    assert grew(before, after, rpcs, method=FETCH, code="PERMISSION_DENIED") == 2  # NO_GRANT and the unheld role
    assert grew(before, after, rpcs, method=FETCH, code="NOT_FOUND") == 1
    assert grew(before, after, "exchange_rpc_duration_seconds_count", method=FETCH) == 5

    # The access log: every refusal an entry, counted by decision and reason, written in group commits.
    entries = "exchange_access_log_entries_total"
    assert grew(before, after, entries, decision="deny", reason="NO_GRANT") == 1
    assert grew(before, after, entries, decision="deny", reason=unheld_reason) == 1
    assert grew(before, after, entries, decision="allow", reason="") >= 2
    assert grew(before, after, "exchange_access_log_batch_entries_sum", **{}) >= 5
    assert grew(before, after, "exchange_access_log_commit_seconds_count") >= 1
    assert value(after, "exchange_access_log_queue_depth") == 0
    assert value(after, "exchange_access_log_size") == len(await hub.log_entries())
    (last,) = (await hub.log_entries())[-1:]
    assert (last.decision, last.reason, last.caller_department) == ("deny", unheld_reason, "SAMR")

    # The adapter answered both allowed fetches: timed per department and call, no errors.
    assert grew(before, after, "exchange_adapter_call_duration_seconds_count", department="SAMR", call="lookup") == 2
    assert value(after, "exchange_adapter_circuit_open", department="SAMR") == 0
    assert_bounded_labels(text, hub, forbidden=[world.uscc, "officer-metrics-7"])


def assert_bounded_labels(text: str, hub: HubFixture, *, forbidden: list[str]) -> None:
    """Every exchange_* label value is from a bounded set; no subject, officer or key appears anywhere."""
    # Every service the hub registers: ours, health checking and reflection (v1 and v1alpha). The registry is
    # the process's, so calls made by other tests in this process (reflection from the Node client) show too.
    served = [
        *_services(),
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ]
    methods = {f"/{name}/{m.name}" for name in served for m in _methods(name)} | {"unknown"}
    codes = {code.name for code in grpc.StatusCode}
    allowed = {
        "method": methods,
        "code": codes,
        "call": {"lookup", "status", "describe", "scan"},
        "decision": {"allow", "deny"},
        "certificate": {"server", "hub_client", "ca"},
    }
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("exchange_"):
            continue
        for sample in family.samples:
            for label, found in sample.labels.items():
                if label == "le":
                    continue
                if label == "reason":
                    assert REASON.match(found), (sample.name, found)
                elif label == "dataset":
                    # A code of a catalog in this process (other tests' hubs count in the same registry), or
                    # "unknown": never a value a caller made up (checked by name below).
                    assert found == "unknown" or CODE.fullmatch(found), (sample.name, found)
                elif label == "department":
                    assert DEPARTMENT.fullmatch(found), (sample.name, found)
                else:
                    assert found in allowed[label], (sample.name, label, found)
    for secret in forbidden:
        assert secret not in text


def _services() -> list[str]:
    from exchange.server import SERVICE_NAMES

    return SERVICE_NAMES


def _methods(service: str):
    from google.protobuf import descriptor_pool

    return descriptor_pool.Default().FindServiceByName(service).methods


async def test_a_dead_adapter_counts_errors_and_opens_its_breaker(world: World) -> None:
    hub = world.hub
    officer = hub.clients[0]
    await hub.client("HUB", roles=[Role.HUB_ADMIN]).create_grant("SAMR", "business_licence", ["*"])
    await world.provider.stop(grace=0.1)  # type: ignore[attr-defined]
    before = samples(await scrape(hub))
    reasons = []
    for _ in range(3):
        with pytest.raises(Unavailable) as down:
            await officer.fetch("business_licence", world.uscc, case_id=world.case)
        reasons.append(down.value.reason)
    assert reasons == ["ADAPTER_UNAVAILABLE", "ADAPTER_UNAVAILABLE", "ADAPTER_CIRCUIT_OPEN"]
    after = samples(await scrape(hub))
    assert value(after, "exchange_adapter_circuit_open", department="SAMR") == 1
    assert grew(before, after, "exchange_adapter_errors_total", department="SAMR", reason="ADAPTER_UNAVAILABLE") == 2
    assert grew(before, after, "exchange_adapter_errors_total", department="SAMR", reason="ADAPTER_CIRCUIT_OPEN") == 1
    assert grew(before, after, "exchange_rpcs_total", method=FETCH, code="UNAVAILABLE") == 3
    fetches = "exchange_fetches_total"
    assert (
        grew(before, after, fetches, dataset="business_licence", decision="allow", reason="ADAPTER_CIRCUIT_OPEN") == 1
    )
    (last,) = (await hub.log_entries())[-1:]
    assert (last.reason, last.caller_department) == ("ADAPTER_CIRCUIT_OPEN", "SAMR")


async def test_checkpoint_age_and_unsigned_entries_follow_the_log(hub: HubFixture) -> None:
    await hub.hub.access_log.sign_checkpoint()
    signed = samples(await scrape(hub))
    assert value(signed, "exchange_checkpoint_unsigned_entries") == 0
    assert 0 <= value(signed, "exchange_checkpoint_age_seconds") < 60
    with pytest.raises(Unauthenticated):
        await _refused_call(hub)
    after = samples(await scrape(hub))
    assert value(after, "exchange_checkpoint_unsigned_entries") >= 1


async def _refused_call(hub: HubFixture) -> None:
    """A call with a token of a key the hub does not know: refused and logged (an unsigned entry)."""
    from exchange.auth.keys import generate_ed25519
    from exchange.client import HubClient

    stranger = generate_ed25519()
    tls = hub.client_tls("HUB")
    async with HubClient.connect(hub.address, department="HUB", officer="x", key=stranger, kid="k", tls=tls) as c:
        await c.call(c._stubs.cases.GetCase, cases_pb2.GetCaseRequest(id="x"))


async def test_certificate_days_left_are_read_from_the_hub_certificates(tmp_path: Path) -> None:
    pki = tmp_path / "hub" / "pki"
    init_pki(pki, hub_name="exchange-hub")
    hub = await start_test_hub(tmp_path / "hub", insecure_dev=False)
    try:
        found = samples(await scrape(hub, tls_ca=pki / "ca.crt"))
    finally:
        await hub.stop()
    for certificate in ("server", "hub_client", "ca"):
        days = value(found, "exchange_certificate_days_left", certificate=certificate)
        assert 30 < days < 4000, (certificate, days)
        assert value(found, "exchange_certificate_not_after_timestamp_seconds", certificate=certificate) > 0
