"""Purpose binding includes the subject: under a case, data only about its parties; a refusal is filed under
the person or company whose data was asked for, so it shows in their own access report."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from adapters.sdk import SourceAdapter
from adapters.server import start_provider
from adapters.signing import DocumentSigner
from adapters.sources.files import FileSource
from catalog.identifiers import generate_licence_id, generate_resident_id, generate_uscc
from catalog.specs import parse_dataset, parse_service_item
from exchange.app import case_records
from exchange.audit.entry import AccessLogEntry
from exchange.auth.identity import Role
from exchange.auth.keys import generate_ed25519, key_id
from exchange.cli import cli
from exchange.client import HubClient, PartyInfo
from exchange.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from exchange.testing import HubFixture, system_caller
from exchange.v1 import audit_pb2, common_pb2

from .conftest import ITEM, PermitWorld

RNG = random.Random(13)
OTHER_COMPANY = generate_uscc(RNG)
STRANGER = generate_resident_id(RNG)
APPLICANT = generate_resident_id(RNG)
NEIGHBOUR = generate_resident_id(RNG)
STRANGERS_FLAT = generate_licence_id(RNG, type_code=generate_uscc(RNG) + "001", issuer_uscc=generate_uscc(RNG))


def add_strangers_documents(world: PermitWorld) -> None:
    """Real documents about people who are no party: on main the hub handed them out under any case."""
    samr, psb, mnr = (world.adapters[d].documents for d in ("SAMR", "PSB", "MNR"))
    company = world.keys["business_licence"]
    samr[("business_licence", OTHER_COMPANY)] = {
        **samr[("business_licence", company)],
        "unified_social_credit_code": OTHER_COMPANY,
        "name": "北京另一家餐饮有限公司",
    }
    person = world.keys["identity_record"]
    psb[("identity_record", STRANGER)] = {**psb[("identity_record", person)], "resident_id": STRANGER, "name": "赵敏"}
    flat = world.keys["property_certificate"]
    mnr[("property_certificate", STRANGERS_FLAT)] = {
        **mnr[("property_certificate", flat)],
        "licence_id": STRANGERS_FLAT,
        "holder_id": STRANGER,
        "holder_name": "赵敏",
    }


async def open_case(world: PermitWorld, *parties: PartyInfo) -> str:
    samr = world.officer("SAMR")
    case = await samr.create_case(ITEM, world.keys["business_licence"], parties=list(parties))
    case = await samr.transition_case(case.id, "accept", case.version)
    return (await samr.transition_case(case.id, "start_review", case.version)).id


async def deny_entry(world: PermitWorld, action: str, subject: str) -> AccessLogEntry:
    """The one deny entry of ``action`` filed under ``subject``."""
    found = [e for e in await world.hub.log_entries() if e.action == action and e.subject_id == subject]
    assert len(found) == 1, [(e.action, e.decision, e.reason) for e in await world.hub.log_entries()]
    assert found[0].decision == "deny" and found[0].reason == "SUBJECT_NOT_ON_CASE"
    return found[0]


async def subject_report(world: PermitWorld, subject: str) -> list[audit_pb2.SubjectAccess]:
    auditor: HubClient = world.hub.client("HUB", roles=(Role.AUDITOR,))
    report = await auditor.call(
        auditor._stubs.audit.GetSubjectReport,
        audit_pb2.GetSubjectReportRequest(subject_id=subject, page=common_pb2.PageRequest(page_size=50)),
    )
    return list(report.accesses)


def assert_refused(caught: pytest.ExceptionInfo[PermissionDenied], case_id: str) -> None:
    assert caught.value.reason == "SUBJECT_NOT_ON_CASE"
    assert case_id in caught.value.message and "applicant" in caught.value.message


async def test_another_companys_licence_under_the_case_is_refused_and_shows_in_that_companys_report(
    any_backend_world: PermitWorld,
) -> None:
    world = any_backend_world
    add_strangers_documents(world)
    case_id = await open_case(world, *world.parties)
    with pytest.raises(PermissionDenied) as caught:
        await world.officer("SAMR").fetch("business_licence", OTHER_COMPANY, case_id=case_id)
    assert_refused(caught, case_id)
    assert OTHER_COMPANY not in caught.value.message
    # Refused before the issuer was asked: the other company's licence never reached the hub.
    assert world.adapters["SAMR"].lookups[("business_licence", OTHER_COMPANY)] == 0
    entry = await deny_entry(world, "exchange.fetch", OTHER_COMPANY)
    assert (entry.caller_department, entry.case_id, entry.dataset) == ("SAMR", case_id, "business_licence")
    report = await subject_report(world, OTHER_COMPANY)
    assert [(a.case_id, a.decision) for a in report] == [(case_id, common_pb2.DECISION_DENY)]
    # The applicant's own licence is still fetched under the case.
    own = await world.officer("SAMR").fetch("business_licence", world.keys["business_licence"], case_id=case_id)
    assert own.data["unified_social_credit_code"] == world.keys["business_licence"]


async def test_an_unrelated_residents_identity_record_is_refused_and_filed_under_that_resident(
    any_backend_world: PermitWorld,
) -> None:
    world = any_backend_world
    add_strangers_documents(world)
    case_id = await open_case(world, *world.parties)
    with pytest.raises(PermissionDenied) as caught:
        await world.officer("SAMR").fetch("identity_record", STRANGER, case_id=case_id)
    assert_refused(caught, case_id)
    assert "legal_representative" in caught.value.message and STRANGER not in caught.value.message
    assert world.adapters["PSB"].lookups[("identity_record", STRANGER)] == 0
    await deny_entry(world, "exchange.fetch", STRANGER)
    assert [a.decision for a in await subject_report(world, STRANGER)] == [common_pb2.DECISION_DENY]


async def test_attaching_a_non_partys_record_is_refused_and_nothing_is_stored(world: PermitWorld) -> None:
    add_strangers_documents(world)
    case_id = await open_case(world, *world.parties)
    samr = world.officer("SAMR")
    with pytest.raises(PermissionDenied) as caught:
        await samr.attach_material(case_id, "identity_record", STRANGER)
    assert_refused(caught, case_id)
    assert await samr.list_materials(case_id) == []
    entry = await deny_entry(world, "cases.material.attach", STRANGER)
    assert entry.case_id == case_id and entry.service_item == ITEM


async def test_a_certificate_whose_document_names_a_non_party_is_refused_after_verification(
    any_backend_world: PermitWorld,
) -> None:
    world = any_backend_world
    add_strangers_documents(world)
    case_id = await open_case(world, *world.parties)
    samr = world.officer("SAMR")
    # The licence id says nothing about whose flat it is: the verified document does, and it is a stranger's.
    with pytest.raises(PermissionDenied) as caught:
        await samr.attach_material(case_id, "property_certificate", STRANGERS_FLAT)
    assert_refused(caught, case_id)
    assert await samr.list_materials(case_id) == []
    await deny_entry(world, "cases.material.attach", STRANGER)
    assert [a.dataset for a in await subject_report(world, STRANGER)] == ["property_certificate"]
    # The premises owner's certificate is attached as before.
    material, fetched = await samr.attach_material(case_id, "property_certificate", world.keys["property_certificate"])
    assert fetched and material.key == world.keys["property_certificate"]


async def test_a_party_added_with_its_relation_can_then_be_fetched_and_the_addition_is_logged_under_it(
    any_backend_world: PermitWorld,
) -> None:
    world = any_backend_world
    case_id = await open_case(world)
    person = world.keys["identity_record"]
    samr, fire = world.officer("SAMR"), world.officer("FIRE")
    with pytest.raises(PermissionDenied) as caught:
        await samr.fetch("identity_record", person, case_id=case_id)
    assert caught.value.reason == "SUBJECT_NOT_ON_CASE"
    # A co-reviewer on the case records the party the application names.
    case = await fire.add_case_party(case_id, PartyInfo("legal_representative", person, name="王伟"))
    assert [(p.relation, p.party_id, p.kind) for p in case.parties] == [
        ("applicant", world.keys["business_licence"], "organisation"),
        ("legal_representative", person, "person"),
    ]
    assert case.timeline[-1].kind == "party_added" and person not in case.timeline[-1].detail
    record = await samr.fetch("identity_record", person, case_id=case_id)
    assert record.data["name"] == "王伟"
    added = [e for e in await world.hub.log_entries() if e.action == "cases.party.add"]
    assert [(e.decision, e.subject_id, e.caller_department) for e in added] == [("allow", person, "FIRE")]
    assert {a.action for a in await subject_report(world, person)} >= {"cases.party.add", "exchange.fetch"}


async def test_adding_a_party_is_refused_to_an_outsider_a_closed_case_and_a_malformed_identifier(
    world: PermitWorld,
) -> None:
    case_id = await open_case(world)
    person = world.keys["identity_record"]
    with pytest.raises(PermissionDenied) as outsider:
        await world.officer("TAX").add_case_party(case_id, PartyInfo("spouse", person))
    assert outsider.value.reason == "NOT_INVOLVED"
    with pytest.raises(InvalidArgument) as malformed:
        await world.officer("SAMR").add_case_party(case_id, PartyInfo("spouse", "1" * 60))
    assert malformed.value.reason == "MALFORMED_PARTY_ID"
    # Beyond the party id's limit (catalog.limits), the hub's edge refuses it before the case desk sees it.
    with pytest.raises(InvalidArgument) as too_long:
        await world.officer("SAMR").add_case_party(case_id, PartyInfo("spouse", "1" * 5000))
    assert too_long.value.reason == "VALUE_TOO_LONG" and "1" * 100 not in too_long.value.message
    samr = world.officer("SAMR")
    case = await samr.get_case(case_id)
    case = await samr.transition_case(case_id, "withdraw", case.version)
    with pytest.raises(FailedPrecondition) as closed:
        await samr.add_case_party(case_id, PartyInfo("spouse", person))
    assert closed.value.reason == "CASE_NOT_OPEN"
    refusals = [e for e in await world.hub.log_entries() if e.action == "cases.party.add"]
    assert [e.reason for e in refusals] == ["NOT_INVOLVED", "MALFORMED_PARTY_ID", "VALUE_TOO_LONG", "CASE_NOT_OPEN"]


async def test_a_stored_material_about_a_non_party_is_not_served(any_backend_world: PermitWorld) -> None:
    world = any_backend_world
    case_id = await open_case(world, *world.parties)
    samr = world.officer("SAMR")
    await samr.attach_material(case_id, "identity_record", world.keys["identity_record"])
    # A material stored before subject binding existed, about someone the case does not name.
    async with world.hub.hub.db.read() as conn:
        held = await case_records.get_material(conn, case_id, "identity_record")
    assert held is not None
    async with world.hub.hub.db.begin() as conn:
        await case_records.add_material(conn, replace(held, version=2, key=STRANGER, subject_id=STRANGER))
    with pytest.raises(PermissionDenied) as caught:
        await world.officer("FIRE").get_material(case_id, "identity_record")
    assert_refused(caught, case_id)
    entry = await deny_entry(world, "cases.material.read", STRANGER)
    assert entry.caller_department == "FIRE" and entry.case_id == case_id
    # The party's own version is still served.
    read = await world.officer("FIRE").get_material(case_id, "identity_record", version=1)
    assert read.data and read.data["resident_id"] == world.keys["identity_record"]


async def test_the_applicant_is_always_a_party_and_parties_survive_storage(any_backend_world: PermitWorld) -> None:
    world = any_backend_world
    samr = world.officer("SAMR")
    for others in ([], world.parties, [PartyInfo("other", OTHER_COMPANY, name="出租方")]):
        created = await samr.create_case(ITEM, world.keys["business_licence"], parties=others)
        stored = await world.officer("MNR").get_case(created.id)
        assert stored.parties == created.parties
        assert stored.parties[0] == PartyInfo("applicant", world.keys["business_licence"], "organisation")
        assert [p.relation for p in stored.parties[1:]] == [p.relation for p in others]
        licence = await samr.fetch("business_licence", world.keys["business_licence"], case_id=created.id)
        assert licence.data


# --- Scan: a row filter on a personal identity column picks people out --------------------------------

RESIDENTS_SPEC = {
    "code": "resident_register",
    "title": "Resident register (bulk)",
    "owner": "PSB",
    "kind": "table",
    "key_field": "resident_id",
    "key_format": "resident_id",
    "sharing_type": "unconditional",
    "update_frequency": "daily",
    "schema": {
        "fields": [
            {"name": "resident_id", "type": "string", "required": True, "sensitivity": "sensitive"},
            {"name": "district", "type": "string", "required": True, "sensitivity": "internal"},
        ]
    },
}
RESIDENT_CHECK = {
    "code": "residence_check",
    "name": "Residence check for a household registration",
    "lead_department": "SVC",
    "time_limit_days": 5,
    "required_materials": [{"dataset": "resident_register", "fields": ["resident_id", "district"]}],
}


@pytest.fixture
async def residents(any_backend_hub: HubFixture, tmp_path: Path) -> AsyncIterator[tuple[HubFixture, str]]:
    """PSB serves a three-person register from Parquet; SVC holds a grant and a case whose applicant is APPLICANT."""
    hub = any_backend_hub
    path = tmp_path / "residents.parquet"
    pq.write_table(
        pa.table({"resident_id": [APPLICANT, STRANGER, NEIGHBOUR], "district": ["110105", "110105", "110108"]}),
        path,
    )
    ds = parse_dataset(RESIDENTS_SPEC)
    key = generate_ed25519()
    source = FileSource(path, "resident_id", {}, ds.schema.arrow_schema())
    adapter = await start_provider(
        SourceAdapter("PSB", {ds.code: (ds, source, "files")}),
        DocumentSigner("PSB", key_id(key.public_key()), key),
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("PSB"),
    )
    try:
        await hub.add_department(
            "PSB", adapter_endpoint=f"127.0.0.1:{adapter.port}", signing_public_key=key.public_key()
        )
        await hub.add_department("SVC")
        await hub.running.registry.register_dataset(ds, system_caller())
        await hub.running.registry.register_service_item(parse_service_item(RESIDENT_CHECK), system_caller())
        await hub.running.registry.create_grant(
            system_caller(), consumer="SVC", dataset=ds.code, fields=("resident_id", "district")
        )
        svc = hub.client("SVC")
        case = await svc.create_case("residence_check", APPLICANT, applicant_kind="person")
        yield hub, case.id
    finally:
        await adapter.stop(grace=0)


async def test_a_scan_filter_naming_a_party_returns_its_row(residents: tuple[HubFixture, str]) -> None:
    hub, case_id = residents
    table = await hub.client("SVC").scan_table(
        "resident_register", case_id=case_id, row_filter=f"resident_id = '{APPLICANT}'"
    )
    assert table.column("resident_id").to_pylist() == [APPLICANT]
    # A filter on a column that names nobody is a bulk scan like any other.
    rows = await hub.client("SVC").scan_table("resident_register", case_id=case_id, row_filter="district = '110105'")
    assert rows.num_rows == 2


@pytest.mark.parametrize(
    ("row_filter", "subject"),
    [
        (f"resident_id = '{STRANGER}'", STRANGER),
        (f"resident_id in ('{APPLICANT}', '{NEIGHBOUR}')", NEIGHBOUR),
        (f"resident_id != '{APPLICANT}'", ""),
    ],
    ids=["a stranger", "a stranger among parties", "everyone but the party"],
)
async def test_a_scan_filter_picking_out_a_non_party_is_refused_and_filed_under_them(
    residents: tuple[HubFixture, str], row_filter: str, subject: str
) -> None:
    hub, case_id = residents
    with pytest.raises(PermissionDenied) as caught:
        await hub.client("SVC").scan_table("resident_register", case_id=case_id, row_filter=row_filter)
    assert caught.value.reason == "SUBJECT_NOT_ON_CASE" and case_id in caught.value.message
    scans = [e for e in await hub.log_entries() if e.action == "exchange.scan"]
    assert [(e.decision, e.reason, e.subject_id) for e in scans] == [("deny", "SUBJECT_NOT_ON_CASE", subject)]


async def test_the_command_line_opens_a_case_with_its_parties_and_adds_one(world: PermitWorld, tmp_path: Path) -> None:
    identity = ["--profile", str(world.hub.write_profile("SAMR", tmp_path / "samr")), "--roles", "officer"]
    person, company = world.keys["identity_record"], world.keys["business_licence"]

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, [*args, *identity], catch_exceptions=False)

    created = await asyncio.to_thread(
        run, "cases", "create", "--item", ITEM, "--applicant", company, "--party", f"legal_representative:{person}:王伟"
    )
    assert created.exit_code == 0, created.output
    case_id = created.output.split()[0]
    assert "legal_representative" in created.output and "person" in created.output
    added = await asyncio.to_thread(run, "cases", "add-party", case_id, f"premises_owner:{person}")
    assert added.exit_code == 0 and "applicant, legal_representative, premises_owner" in added.output
    refused = await asyncio.to_thread(run, "cases", "add-party", case_id, "cousin:123")
    assert refused.exit_code != 0 and "UNKNOWN_PARTY_RELATION" in refused.output
    malformed = await asyncio.to_thread(run, "cases", "create", "--item", ITEM, "--applicant", company, "--party", "x")
    assert malformed.exit_code == 1 and "RELATION:ID" in malformed.output  # usage


async def test_requests_that_joined_a_refused_fetch_are_each_denied_under_the_real_subject(world: PermitWorld) -> None:
    add_strangers_documents(world)
    case_id = await open_case(world, *world.parties)
    mnr = world.adapters["MNR"]
    mnr.gate.clear()
    officers = [world.officer(d, f"officer-{i}") for i, d in enumerate(["SAMR", "FIRE", "MNR"])]
    attaching = [
        asyncio.create_task(o.attach_material(case_id, "property_certificate", STRANGERS_FLAT)) for o in officers
    ]
    while not mnr.lookups:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # let the other requests reach the hub and join the fetch in flight
    mnr.gate.set()
    results = await asyncio.gather(*attaching, return_exceptions=True)
    assert [getattr(r, "reason", r) for r in results] == ["SUBJECT_NOT_ON_CASE"] * 3
    assert mnr.lookups[("property_certificate", STRANGERS_FLAT)] == 1
    entries = [e for e in await world.hub.log_entries() if e.action == "cases.material.attach"]
    assert [(e.decision, e.reason, e.subject_id) for e in entries] == [("deny", "SUBJECT_NOT_ON_CASE", STRANGER)] * 3
