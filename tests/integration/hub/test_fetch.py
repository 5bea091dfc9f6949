"""The once-only fetch through a real hub and a real Provider server on loopback."""

from __future__ import annotations

import contextlib
import random
from datetime import date

import grpc
import pytest

from adapters.sdk import Adapter
from adapters.server import start_provider
from adapters.signing import DocumentSigner
from catalog.identifiers import generate_licence_id, generate_resident_id, generate_uscc
from exchange.auth.identity import Role
from exchange.auth.keys import generate_ed25519
from exchange.client import PartyInfo
from exchange.errors import DataLoss, ExchangeError, InvalidArgument, NotFound, PermissionDenied, Unavailable
from exchange.testing import system_caller
from exchange.v1 import cases_pb2

ITEM_FIELDS = {
    "unified_social_credit_code",
    "name",
    "legal_representative",
    "address",
    "business_scope",
    "status",
    "valid_until",
    "licence_id",
}


class MemoryAdapter(Adapter):
    """A department whose 'own system' is a dict; counts the lookups it answers."""

    def __init__(self, department, datasets, documents):
        super().__init__(department, datasets)
        self.documents = documents
        self.lookups = 0

    async def lookup(self, dataset, key):
        self.lookups += 1
        return self.documents.get((dataset.code, key))


def licence(rng: random.Random) -> dict:
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
async def world(hub):
    """SAMR issues business licences through its adapter; a restaurant permit case is open."""
    rng = random.Random(7)
    signing = generate_ed25519()
    samr = await hub.add_department("SAMR")
    for code in ("FIRE", "MNR", "PSB", "SVC"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
    doc = licence(rng)
    ds = await hub.running.registry.get_dataset("business_licence")
    adapter = MemoryAdapter("SAMR", [ds], {("business_licence", doc["unified_social_credit_code"]): doc})
    signer = DocumentSigner("SAMR", samr.signing_kid, samr.signing_key)
    provider = await start_provider(adapter, signer, listen="127.0.0.1:0", tls=hub.adapter_tls("SAMR"))
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
    admin = hub.client("HUB", roles=[Role.HUB_ADMIN])
    try:
        yield {
            "hub": hub,
            "doc": doc,
            "adapter": adapter,
            "case": created.case.id,
            "officer": officer,
            "admin": admin,
            "signing": signing,
            "provider": provider,
        }
    finally:
        await provider.stop(grace=0.1)


async def test_allowed_fetch_returns_the_granted_fields_a_receipt_and_one_log_entry(world):
    hub, doc, officer = world["hub"], world["doc"], world["officer"]
    await world["admin"].create_grant("SAMR", "business_licence", ["*", "legal_representative"])
    before = len(await hub.log_entries())
    result = await officer.fetch("business_licence", doc["unified_social_credit_code"], case_id=world["case"])
    assert set(result.fields) == ITEM_FIELDS - {"valid_until"}  # the item's fields the document has
    assert result.data["name"] == doc["name"]
    assert "legal_representative_id" not in result.data  # sensitive, neither granted nor needed
    assert result.provenance.issuer == "SAMR" and result.provenance.signature
    entries = (await hub.log_entries())[before:]
    assert len(entries) == 1
    (entry,) = entries
    assert (entry.index, entry.decision, entry.action) == (result.receipt.index, "allow", "exchange.fetch")
    assert entry.subject_id == doc["unified_social_credit_code"]
    assert set(entry.fields) == set(result.fields)


async def test_no_grant_is_denied_before_the_issuer_is_asked(world):
    with pytest.raises(PermissionDenied) as denied:
        await world["officer"].fetch(
            "business_licence", world["doc"]["unified_social_credit_code"], case_id=world["case"]
        )
    assert denied.value.reason == "NO_GRANT"
    assert world["adapter"].lookups == 0
    (last,) = (await world["hub"].log_entries())[-1:]
    assert (last.decision, last.reason) == ("deny", "NO_GRANT")


async def test_ungranted_field_is_denied(world):
    await world["admin"].create_grant("SAMR", "business_licence", ["name", "status"])
    with pytest.raises(PermissionDenied) as denied:
        await world["officer"].fetch(
            "business_licence",
            world["doc"]["unified_social_credit_code"],
            case_id=world["case"],
            fields=["name", "legal_representative"],
        )
    assert denied.value.reason == "FIELD_NOT_GRANTED"
    assert "legal_representative" in denied.value.message


async def test_unknown_dataset_is_not_found_and_logged(world):
    with pytest.raises(NotFound) as missing:
        await world["officer"].fetch("no_such_dataset", "x", case_id=world["case"])
    assert missing.value.reason == "DATASET_NOT_FOUND"
    (last,) = (await world["hub"].log_entries())[-1:]
    assert (last.decision, last.reason, last.dataset) == ("deny", "DATASET_NOT_FOUND", "no_such_dataset")


@pytest.mark.parametrize("key", ["91110105MA01ABCD1X", "' OR 1=1 --", "../../etc/passwd", "9" * 300, ""])
async def test_malformed_keys_never_reach_the_adapter(world, key):
    await world["admin"].create_grant("SAMR", "business_licence", ["*"])
    with pytest.raises(InvalidArgument) as refused:
        await world["officer"].fetch("business_licence", key, case_id=world["case"])
    assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert world["adapter"].lookups == 0


async def test_unknown_key_is_not_found(world):
    await world["admin"].create_grant("SAMR", "business_licence", ["*"])
    other = generate_uscc(random.Random(99))
    # A party of the case, so the refusal is about the key alone (a stranger's key is SUBJECT_NOT_ON_CASE first).
    await world["officer"].add_case_party(world["case"], PartyInfo("agent", other))
    with pytest.raises(NotFound) as missing:
        await world["officer"].fetch("business_licence", other, case_id=world["case"])
    assert missing.value.reason == "KEY_NOT_FOUND"
    assert "SAMR" in missing.value.message


async def test_a_document_not_signed_by_the_registered_key_is_data_loss(world):
    hub = world["hub"]
    await world["admin"].create_grant("SAMR", "business_licence", ["*"])
    impostor = DocumentSigner("SAMR", hub.departments["SAMR"].signing_kid, generate_ed25519())
    forged = await start_provider(world["adapter"], impostor, listen="127.0.0.1:0", tls=hub.adapter_tls("SAMR"))
    try:
        await hub.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{forged.port}")
        with pytest.raises(DataLoss) as refused:
            await world["officer"].fetch(
                "business_licence", world["doc"]["unified_social_credit_code"], case_id=world["case"]
            )
    finally:
        await forged.stop(grace=0.1)
    assert refused.value.reason == "ISSUER_SIGNATURE_INVALID"
    (last,) = (await hub.log_entries())[-1:]
    assert (last.reason, last.outcome) == ("ISSUER_SIGNATURE_INVALID", "DATA_LOSS")


async def test_a_dead_adapter_is_unavailable_and_named(world):
    await world["admin"].create_grant("SAMR", "business_licence", ["*"])
    await world["provider"].stop(grace=0.1)
    with pytest.raises(Unavailable) as down:
        await world["officer"].fetch(
            "business_licence", world["doc"]["unified_social_credit_code"], case_id=world["case"]
        )
    assert "SAMR" in down.value.message


async def test_every_fetch_leaves_exactly_one_entry(world):
    hub, officer, uscc = world["hub"], world["officer"], world["doc"]["unified_social_credit_code"]
    await world["admin"].create_grant("SAMR", "business_licence", ["name", "status"])
    before = len(await hub.log_entries())
    attempts = [
        dict(dataset="business_licence", key=uscc),
        dict(dataset="business_licence", key=uscc, fields=["name"]),
        dict(dataset="business_licence", key=uscc, fields=["address"]),
        dict(dataset="nothing", key=uscc),
        dict(dataset="business_licence", key="bad"),
    ]
    for attempt in attempts:
        with contextlib.suppress(ExchangeError):
            await officer.fetch(case_id=world["case"], **attempt)
    entries = [e for e in (await hub.log_entries())[before:] if e.action == "exchange.fetch"]
    assert [e.decision for e in entries] == ["allow", "allow", "deny", "deny", "deny"]


async def test_a_document_signed_with_a_key_after_its_retirement_is_refused(world):
    hub = world["hub"]
    await world["admin"].create_grant("SAMR", "business_licence", ["*"])
    await hub.running.registry.retire_key("SAMR", hub.departments["SAMR"].signing_kid, system_caller())
    with pytest.raises(DataLoss) as refused:
        await world["officer"].fetch(
            "business_licence", world["doc"]["unified_social_credit_code"], case_id=world["case"]
        )
    assert refused.value.reason == "ISSUER_KEY_RETIRED"
    (last,) = (await hub.log_entries())[-1:]
    assert (last.reason, last.outcome) == ("ISSUER_KEY_RETIRED", "DATA_LOSS")


async def test_the_purpose_note_is_kept_in_the_entry_of_an_allowed_and_of_a_refused_fetch(world):
    """Purpose.note (why this officer needs the document now) was accepted and dropped; the log keeps it."""
    from exchange.v1 import common_pb2, exchange_pb2

    hub, officer, key = world["hub"], world["officer"], world["doc"]["unified_social_credit_code"]
    note = "窗口核验 申请人当面出示原件"

    async def fetch() -> None:
        request = exchange_pb2.FetchRequest(
            dataset="business_licence", key=key, purpose=common_pb2.Purpose(case_id=world["case"], note=note)
        )
        await officer.call(officer._stubs.exchange.Fetch, request)

    with pytest.raises(PermissionDenied):
        await fetch()
    refused = (await hub.log_entries())[-1]
    assert (refused.decision, refused.reason, refused.details.get("note")) == ("deny", "NO_GRANT", note)
    await world["admin"].create_grant("SAMR", "business_licence", ["*"])
    await fetch()
    allowed = [e for e in await hub.log_entries() if e.action == "exchange.fetch"][-1]
    assert (allowed.decision, allowed.details.get("note")) == ("allow", note)
