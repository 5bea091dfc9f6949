"""An independent Node.js client (grpc-js, jose, server reflection) drives a real hub over mTLS.

The client knows only the published specifications: it learns every message type by reflection, mints
its token from docs/api.md and decodes error details itself. What it prints is checked here against
the hub's own access log. See tests/interop/node/README.md.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.config import TlsConfig
from adapters.sdk import Adapter
from adapters.server import RunningAdapter, start_provider
from adapters.signing import DocumentSigner
from catalog.identifiers import generate_licence_id, generate_resident_id, generate_uscc
from exchange.audit.entry import entry_leaf_hash
from exchange.auth.keys import private_key_to_pem
from exchange.auth.pki import hub_identity, init_pki, issue_adapter_certificate, issue_department_certificate
from exchange.testing import HubFixture, start_test_hub, system_caller
from tests.interop.nodejs import run_node

HUB_NAME = "exchange-hub"


class MemoryAdapter(Adapter):
    """SAMR's 'own system': one business licence in a dict."""

    def __init__(self, department: str, datasets: list[Any], documents: dict[tuple[str, str], dict[str, Any]]):
        super().__init__(department, datasets)
        self.documents = documents

    async def lookup(self, dataset: Any, key: str) -> dict[str, Any] | None:
        return self.documents.get((dataset.code, key))


@dataclass
class World:
    hub: HubFixture
    adapter: RunningAdapter
    args: list[str]
    licence: dict[str, Any]
    resident: str
    stranger: str


def business_licence(rng: random.Random) -> dict[str, Any]:
    uscc = generate_uscc(rng)
    return {
        "unified_social_credit_code": uscc,
        "name": "Beijing Red Lantern Catering Co., Ltd.",
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


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """An mTLS hub; SAMR serves business licences through an adapter that admits only the hub; a grant.

    The case the client opens names the company's legal representative as a party, so a fetch of her
    identity record is refused for want of a grant (NO_GRANT), not for want of a purpose."""
    pki = tmp_path / "hub" / "pki"
    paths = init_pki(pki, hub_name=HUB_NAME)
    client_key, client_cert = issue_department_certificate(pki, "SAMR")
    adapter_key, adapter_cert = issue_adapter_certificate(pki, "SAMR", hosts=("127.0.0.1",))
    hub = await start_test_hub(tmp_path / "hub", insecure_dev=False, hub_name=HUB_NAME)
    try:
        samr = await hub.add_department("SAMR")
        for code in ("PSB", "FIRE", "MNR"):
            await hub.add_department(code)
        for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
            await hub.register_example_dataset(name)
        await hub.register_example_item("restaurant_permit")
        licence = business_licence(random.Random(13))
        uscc = licence["unified_social_credit_code"]
        ds = await hub.running.registry.get_dataset("business_licence")
        adapter = await start_provider(
            MemoryAdapter("SAMR", [ds], {("business_licence", uscc): licence}),
            DocumentSigner("SAMR", samr.signing_kid, samr.signing_key),
            listen="127.0.0.1:0",
            tls=TlsConfig(adapter_cert, adapter_key, paths.ca_cert, hub_identity=hub_identity(HUB_NAME)),
        )
        await hub.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{adapter.port}")
        await hub.running.registry.create_grant(
            system_caller(), consumer="SAMR", dataset="business_licence", fields=("*",)
        )
        token_key = tmp_path / "samr-token.key"
        token_key.write_bytes(private_key_to_pem(samr.token_key))
        resident = licence["legal_representative_id"]
        stranger = generate_uscc(random.Random(14))  # another company: not a party to the case
        args = [
            *("--hub", hub.address, "--server-name", "localhost", "--ca", str(pki / "ca.crt")),
            *("--cert", str(client_cert), "--key", str(client_key)),
            *("--department", "SAMR", "--officer", "li.wei", "--token-key", str(token_key), "--hub-name", HUB_NAME),
            *("--service-item", "restaurant_permit", "--applicant", uscc, "--dataset", "business_licence"),
            *("--document-key", uscc, "--refused-dataset", "identity_record", "--refused-key", resident),
            *("--parties", f"legal_representative:{resident}", "--stranger-key", stranger),
        ]
        try:
            yield World(hub, adapter, args, licence, resident, stranger)
        finally:
            await adapter.stop(grace=0.1)
    finally:
        await hub.stop()


@pytest.mark.parametrize("reflection", ["v1", "v1alpha"])
async def test_node_client_discovers_the_api_fetches_and_decodes_a_refusal(world: World, reflection: str) -> None:
    report = await run_node("conformance.mjs", *world.args, "--reflection", reflection)

    api = {"exchange.v1.CatalogService", "exchange.v1.CaseService", "exchange.v1.ExchangeService"}
    served = api | {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"}
    assert served <= set(report["reflection"]["v1"]) and served <= set(report["reflection"]["v1alpha"])
    assert "exchange/v1/exchange.proto" in report["reflection"]["files"]

    assert {name: step["status"] for name, step in report["health"].items()} == {
        "overall": "SERVING",
        "exchange.v1.ExchangeService": "SERVING",
    }
    assert {"business_licence", "identity_record"} <= {d["code"] for d in report["catalog"]["datasets"]}
    case = report["case"]
    assert case["ok"] and case["id"].startswith("c-") and case["serviceItem"] == "restaurant_permit"
    assert case["parties"] == [
        {"relation": "applicant", "id": world.licence["unified_social_credit_code"]},
        {"relation": "legal_representative", "id": world.resident},
    ]

    fetched = report["fetch"]
    assert fetched["ok"], fetched
    assert fetched["document"]["name"] == world.licence["name"]
    assert fetched["document"]["unified_social_credit_code"] == world.licence["unified_social_credit_code"]
    assert "legal_representative_id" not in fetched["document"]  # sensitive: neither granted nor needed
    kid = world.hub.departments["SAMR"].signing_kid
    assert fetched["provenance"] == {"issuer": "SAMR", "dataset": "business_licence", "kid": kid, "signed": True}
    assert fetched["receipt"]["origin"] == world.hub.hub.access_log.origin

    refusal = report["refusal"]
    assert not refusal["ok"]
    error = refusal["error"]
    assert (error["status"], error["reason"], error["domain"]) == ("PERMISSION_DENIED", "NO_GRANT", "exchange.gov")
    assert error["detailsCode"] == 7  # google.rpc.Code PERMISSION_DENIED, as in the status itself
    assert error["metadata"]["subject_id"] == world.resident

    # A company that is not a party to the case: refused before its issuer is asked.
    stranger = report["stranger"]
    assert (stranger["ok"], stranger["error"]["status"], stranger["error"]["reason"]) == (
        False,
        "PERMISSION_DENIED",
        "SUBJECT_NOT_ON_CASE",
    )

    # Every call came back with the x-request-id it sent, and the log files each under that id.
    for step in (*report["health"].values(), report["catalog"], case, fetched, refusal, stranger):
        assert step["requestId"] == step["sentRequestId"], step
    entries = {e.request_id: e for e in await world.hub.log_entries()}
    allowed = entries[fetched["sentRequestId"]]
    assert (allowed.action, allowed.decision) == ("exchange.fetch", "allow")
    assert allowed.index == int(fetched["receipt"]["index"])  # int64 arrives as a decimal string in JavaScript
    assert entry_leaf_hash(allowed).hex() == fetched["receipt"]["leafHash"]
    denied = entries[refusal["sentRequestId"]]
    assert (denied.decision, denied.reason, denied.subject_id) == ("deny", "NO_GRANT", world.resident)
    assert (denied.caller_department, denied.officer_id) == ("SAMR", "li.wei")
    outsider = entries[stranger["sentRequestId"]]
    assert (outsider.decision, outsider.reason, outsider.subject_id) == ("deny", "SUBJECT_NOT_ON_CASE", world.stranger)
