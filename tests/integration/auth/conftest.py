"""A hub with the restaurant-permit departments, datasets and service item, and cases opened directly in storage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from grpc import aio

from adapters.server import signed_to_proto
from adapters.signing import DocumentSigner
from exchange.app import case_records
from exchange.cases.parties import CaseParty
from exchange.clock import now_us
from exchange.storage import tables as t
from exchange.testing import HubFixture, start_test_hub
from exchange.v1 import provider_pb2, provider_pb2_grpc

LICENCE_KEY = "91110105MA01XXXXX0"
# The applicant company's legal representative: a party of every case opened here.
REPRESENTATIVE = "110101199003074514"
# A string found nowhere but in the licence's contents: if it shows up in a response, contents leaked.
SECRET_MARKER = "Golden Dragon Noodle House 7f3c"
LICENCE = {
    "unified_social_credit_code": LICENCE_KEY,
    "name": SECRET_MARKER,
    "company_type": "limited liability company",
    "legal_representative": "Li Wei",
    "established_on": "2019-03-01",
    "address": "1 Chang'an Avenue",
    "registration_authority": "Beijing SAMR",
    "status": "01",
    "licence_id": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
}


class LicenceProvider(provider_pb2_grpc.ProviderServiceServicer):
    """SAMR's adapter in miniature: one signed business licence."""

    def __init__(self, signer: DocumentSigner) -> None:
        self.signer = signer

    async def Lookup(self, request: provider_pb2.LookupRequest, context: object) -> provider_pb2.LookupResponse:
        if request.key != LICENCE_KEY:
            return provider_pb2.LookupResponse(found=False)
        signed = self.signer.sign(request.dataset, "1.0", request.key, LICENCE)
        return provider_pb2.LookupResponse(found=True, document=signed_to_proto(signed))


DEPARTMENTS = ("SAMR", "FIRE", "MNR", "PSB")
DATASETS = ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate", "criminal_record")


async def start_provider(fixture: HubFixture) -> aio.Server:
    """SAMR's adapter on a loopback port, signing with the key the hub has registered for SAMR."""
    keys = await fixture.add_department("SAMR")
    server = aio.server()
    provider_pb2_grpc.add_ProviderServiceServicer_to_server(
        LicenceProvider(DocumentSigner("SAMR", keys.signing_kid, keys.signing_key)),  # type: ignore[abstract]
        server,
    )
    port = fixture.add_adapter_port(server, "SAMR")
    await server.start()
    await fixture.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{port}")
    return server


async def populate(fixture: HubFixture) -> HubFixture:
    """Register the example departments, datasets and the restaurant permit."""
    for code in DEPARTMENTS:
        if code not in fixture.departments:
            await fixture.add_department(code)
    for name in DATASETS:
        await fixture.register_example_dataset(name)
    await fixture.register_example_item("restaurant_permit")
    return fixture


async def open_case(
    fixture: HubFixture,
    case_id: str,
    *,
    item: str = "restaurant_permit",
    lead: str = "SAMR",
    co_reviewers: tuple[str, ...] = ("FIRE", "MNR"),
    state: str = "in_review",
    applicant: str = LICENCE_KEY,
) -> str:
    """A case row as the case service stores it: what purpose binding reads (the licence's company applies,
    its legal representative is a party)."""
    now = now_us()
    async with fixture.hub.db.begin() as conn:
        await conn.execute(
            t.cases.insert().values(
                id=case_id,
                service_item=item,
                applicant_id=applicant,
                lead_department=lead,
                state=state,
                version=1,
                submitted_at_us=now,
                updated_at_us=now,
                case_json=json.dumps({}),
            )
        )
        for dept, role in ((lead, "lead"), *((c, "co_reviewer") for c in co_reviewers)):
            await conn.execute(t.case_departments.insert().values(case_id=case_id, department=dept, role=role))
        representative = CaseParty("legal_representative", REPRESENTATIVE, "person")
        await case_records.insert_parties(conn, case_id, [representative], now)
    return case_id


@pytest.fixture
async def permit_hub(tmp_path) -> AsyncIterator[HubFixture]:
    """A hub on SQLite with the restaurant-permit world registered."""
    fixture = await start_test_hub(tmp_path / "hub")
    provider = await start_provider(fixture)
    try:
        yield await populate(fixture)
    finally:
        await fixture.stop()
        await provider.stop(None)
