"""The demo departments run as separate adapter processes and answer the hub end to end."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc import aio

from adapters.server import signed_from_proto
from catalog.identifiers import KeyFormat, is_valid_key
from exchange.adapter_client import AdapterClient, TransportSecurity
from exchange.auth.pki import init_pki, issue_department_certificate
from exchange.demo.data import generate
from exchange.demo.departments import DemoDepartments
from exchange.status import from_rpc_error
from exchange.testing import HubFixture
from exchange.v1 import provider_pb2, provider_pb2_grpc

from .hubsetup import CONSUMER, catalog_for_restaurants, grant

LICENCE_FIELDS = ("unified_social_credit_code", "name", "legal_representative", "address", "status", "licence_id")


def test_demo_data_is_consistent_and_valid_to_the_check_character() -> None:
    data = generate(11)
    people = {p.resident_id for p in data.people}
    assert all(is_valid_key(KeyFormat.RESIDENT_ID, p) for p in people)
    assert all(is_valid_key(KeyFormat.USCC, c.uscc) for c in data.companies)
    assert all(c.legal_representative.resident_id in people for c in data.companies)
    companies = {c.uscc for c in data.companies}
    assert all(f.holder_uscc in companies for f in data.fire_certificates)
    ids = [c.licence_id for c in data.companies] + [p.licence_id for p in data.properties]
    ids += [f.licence_id for f in data.fire_certificates]
    assert all(is_valid_key(KeyFormat.LICENCE_ID, i) for i in ids) and len(set(ids)) == len(ids)
    assert {"02", "03"} <= {c.status for c in data.companies}
    assert generate(11) == data and generate(12) != data


async def test_hub_fetches_a_business_licence_from_the_demo_rest_adapter_process(
    hub: HubFixture, tmp_path: Path
) -> None:
    async with DemoDepartments(tmp_path / "demo", seed=7, pki=hub.pki_dir) as deps:
        assert set(deps.departments) == {"SAMR", "PSB", "MNR", "FIRE"}
        for code, dept in deps.departments.items():
            await hub.add_department(
                code, name=dept.name, adapter_endpoint=dept.endpoint, signing_public_key=dept.signing_key_pem
            )
        await hub.add_department(CONSUMER)
        await catalog_for_restaurants(hub)
        await grant(hub, "business_licence", LICENCE_FIELDS)
        sample = deps.samples
        officer = hub.client(CONSUMER)
        case = await officer.create_case("restaurant_permit", sample.company_uscc)

        document = await officer.fetch("business_licence", sample.company_uscc, case_id=case.id)

        company = deps.data.company(sample.company_uscc)
        assert document.data == {
            "unified_social_credit_code": company.uscc,
            "name": company.name,
            "legal_representative": company.legal_representative.name,
            "address": company.address,
            "status": "01",
            "licence_id": company.licence_id,
        }
        assert document.provenance.issuer == "SAMR"
        assert document.provenance.kid == deps.departments["SAMR"].signing_kid
        entry = (await hub.log_entries())[-1]
        assert (entry.action, entry.decision, entry.subject_id) == ("exchange.fetch", "allow", company.uscc)

        # Every other department's adapter answers the hub's client too, from its own kind of source.
        client = hub.hub.adapters
        documents = {}
        for code, dataset, key in [
            ("PSB", "identity_record", sample.legal_representative_id),
            ("MNR", "property_certificate", sample.property_licence_id),
            ("FIRE", "fire_safety_certificate", sample.fire_licence_id),
        ]:
            found = await client.lookup(
                code, deps.departments[code].endpoint, provider_pb2.LookupRequest(dataset=dataset, key=key)
            )
            assert found.found and found.document.issuer == code
            documents[dataset] = signed_from_proto(found.document).document()
        assert len(documents["fire_safety_certificate"]["inspectors"]) == 2
        assert documents["property_certificate"]["address"] == company.address
        revoked = await client.status(
            "SAMR",
            deps.departments["SAMR"].endpoint,
            provider_pb2.StatusRequest(dataset="business_licence", key=sample.revoked_company_uscc),
        )
        assert (revoked.found, revoked.status_code, revoked.valid) == (True, "03", False)
        described = await client.describe("FIRE", deps.departments["FIRE"].endpoint)
        assert [(d.dataset, d.source) for d in described.datasets] == [("fire_safety_certificate", "files")]


async def test_demo_departments_over_tls_answer_the_hub_client_identity_only(tmp_path: Path) -> None:
    pki = init_pki(tmp_path / "pki")
    fire_key, fire_cert = issue_department_certificate(pki.directory, "FIRE")
    hub_side = AdapterClient(
        TransportSecurity(pki.ca_cert.read_bytes(), pki.hub_client_cert.read_bytes(), pki.hub_client_key.read_bytes())
    )
    fire = grpc.ssl_channel_credentials(pki.ca_cert.read_bytes(), fire_key.read_bytes(), fire_cert.read_bytes())
    try:
        async with DemoDepartments(tmp_path / "demo", seed=7, pki=pki.directory) as deps:
            sample = deps.samples
            psb = deps.departments["PSB"].endpoint
            request = provider_pb2.LookupRequest(dataset="identity_record", key=sample.legal_representative_id)
            assert (await hub_side.lookup("PSB", psb, request)).found
            for code in ("SAMR", "MNR", "FIRE"):
                described = await hub_side.describe(code, deps.departments[code].endpoint)
                assert described.department == code
            async with aio.secure_channel(psb, fire) as channel:
                with pytest.raises(aio.AioRpcError) as refused:
                    await provider_pb2_grpc.ProviderServiceStub(channel).Lookup(request, timeout=5)
            assert from_rpc_error(refused.value).reason == "ADAPTER_CALLER_NOT_HUB"
    finally:
        await hub_side.close()
