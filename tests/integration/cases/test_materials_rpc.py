"""The material set: one upstream fetch however many ask, refresh only on request, re-check before approval."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from exchange.auth.identity import Role
from exchange.cases.lifecycle import CaseState
from exchange.errors import FailedPrecondition, NotFound, PermissionDenied, Unavailable
from exchange.storage import tables as t
from tests.integration.cases.conftest import PermitWorld, case_in


async def test_concurrent_attach_of_one_material_is_one_lookup_at_the_issuer(any_backend_world: PermitWorld) -> None:
    world = any_backend_world
    case = await case_in(world, CaseState.IN_REVIEW)
    fire_adapter, key = world.adapters["FIRE"], world.keys["fire_safety_certificate"]
    fire_adapter.gate.clear()
    officers = [world.officer(d, f"officer-{i}") for i, d in enumerate(["SAMR", "FIRE", "MNR"] * 3)]
    attaching = [asyncio.create_task(o.attach_material(case.id, "fire_safety_certificate", key)) for o in officers]
    while not fire_adapter.lookups:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # let the other requests reach the hub and join the fetch in flight
    fire_adapter.gate.set()
    results = await asyncio.gather(*attaching)
    assert fire_adapter.lookups[("fire_safety_certificate", key)] == 1
    assert sum(fetched for _, fetched in results) == 1
    assert len({m.digest for m, _ in results}) == 1
    entries = [e for e in await world.hub.log_entries() if e.action == "cases.material.attach"]
    assert len(entries) == len(officers)
    assert sum(e.details.get("upstream_call") == "false" for e in entries) == len(officers) - 1


async def test_expired_material_is_refetched_only_on_refresh_and_both_versions_kept(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await case_in(world, CaseState.IN_REVIEW)
    key = world.keys["fire_safety_certificate"]
    document = world.adapters["FIRE"].documents[("fire_safety_certificate", key)]
    document["valid_until"] = "2025-12-31"
    first, fetched = await samr.attach_material(case.id, "fire_safety_certificate", key)
    assert fetched and first.valid_until_us and first.version == 1
    document.update(valid_until="2029-12-31", inspection_date="2026-11-02")
    again, fetched = await samr.attach_material(case.id, "fire_safety_certificate", key)
    assert not fetched and again.version == 1
    assert world.adapters["FIRE"].lookups[("fire_safety_certificate", key)] == 1
    renewed, fetched = await samr.attach_material(case.id, "fire_safety_certificate", refresh=True)
    assert fetched and renewed.version == 2 and renewed.valid_until_us > first.valid_until_us
    listed = await samr.list_materials(case.id)
    assert [(m.version, m.current) for m in listed] == [(1, False), (2, True)]
    assert all(m.data is None for m in listed)
    old = await world.officer("MNR").get_material(case.id, "fire_safety_certificate", version=1)
    new = await world.officer("MNR").get_material(case.id, "fire_safety_certificate")
    assert old.data and new.data and old.data["valid_until"] == "2025-12-31" and new.data["valid_until"] == "2029-12-31"
    assert world.adapters["FIRE"].lookups[("fire_safety_certificate", key)] == 2


async def test_approval_refused_naming_a_licence_revoked_after_it_was_fetched(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await case_in(world, CaseState.IN_REVIEW)
    for dataset, key in world.keys.items():
        await samr.attach_material(case.id, dataset, key)
    for dept in ("SAMR", "FIRE", "MNR"):
        case = await world.officer(dept).record_opinion(case.id, "approve")
    licence = world.keys["business_licence"]
    world.adapters["SAMR"].documents[("business_licence", licence)]["status"] = "03"
    with pytest.raises(FailedPrecondition) as refused:
        await samr.transition_case(case.id, "approve", case.version)
    assert refused.value.reason == "MATERIAL_NO_LONGER_VALID"
    assert "business_licence" in refused.value.message and "status 03" in refused.value.message
    assert (await samr.get_case(case.id)).state == "in_review"
    checks = [e for e in await world.hub.log_entries() if e.action == "cases.check_material"]
    assert {e.dataset: e.details["status_code"] for e in checks}["business_licence"] == "03"
    denied = [e for e in await world.hub.log_entries() if e.reason == "MATERIAL_NO_LONGER_VALID"]
    assert any(e.action == "cases.transition" for e in denied)


async def test_approval_needs_every_mandatory_material(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await case_in(world, CaseState.IN_REVIEW)
    await samr.attach_material(case.id, "business_licence", world.keys["business_licence"])
    for dept in ("SAMR", "FIRE", "MNR"):
        case = await world.officer(dept).record_opinion(case.id, "approve")
    with pytest.raises(FailedPrecondition) as refused:
        await samr.transition_case(case.id, "approve", case.version)
    assert refused.value.reason == "MATERIAL_MISSING" and "fire_safety_certificate" in refused.value.message


async def test_material_not_required_by_the_item_is_refused(world: PermitWorld) -> None:
    case = await case_in(world, CaseState.ACCEPTED)
    with pytest.raises(NotFound) as refused:
        await world.officer("SAMR").attach_material(case.id, "criminal_record", "x")
    assert refused.value.reason in ("MATERIAL_NOT_REQUIRED", "SERVICE_ITEM_NOT_FOUND", "DATASET_NOT_FOUND")
    assert world.total_lookups() == 0


async def test_approval_fails_closed_when_an_issuer_cannot_be_asked(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await case_in(world, CaseState.IN_REVIEW)
    for dataset, key in world.keys.items():
        await samr.attach_material(case.id, dataset, key)
    for dept in ("SAMR", "FIRE", "MNR"):
        case = await world.officer(dept).record_opinion(case.id, "approve")
    fire_adapter = next(s for s in world.servers if s.adapter.department == "FIRE")
    await fire_adapter.stop(grace=0)
    with pytest.raises(Unavailable):
        await samr.transition_case(case.id, "approve", case.version)
    assert (await samr.get_case(case.id)).state == "in_review"


async def test_auditor_sees_material_metadata_never_contents(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await case_in(world, CaseState.IN_REVIEW)
    await samr.attach_material(case.id, "business_licence", world.keys["business_licence"])
    auditor = world.hub.client("HUB", officer="auditor-1", roles=[Role.AUDITOR])
    listed = await auditor.list_materials(case.id)
    assert [m.dataset for m in listed] == ["business_licence"] and listed[0].data is None
    assert (await auditor.get_case(case.id)).id == case.id
    with pytest.raises(PermissionDenied) as refused:
        await auditor.get_material(case.id, "business_licence")
    assert refused.value.reason == "ROLE_NOT_ALLOWED"


async def test_two_cases_holding_one_licence_store_its_document_once(any_backend_world: PermitWorld) -> None:
    world = any_backend_world
    samr, key = world.officer("SAMR"), world.keys["business_licence"]
    first, second = await case_in(world, CaseState.ACCEPTED), await case_in(world, CaseState.ACCEPTED)
    attached = await asyncio.gather(
        samr.attach_material(first.id, "business_licence", key),
        samr.attach_material(second.id, "business_licence", key),
    )
    assert all(fetched for _, fetched in attached)
    assert attached[0][0].digest == attached[1][0].digest
    async with world.hub.hub.db.read() as conn:
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(t.documents))).scalar()
        copies = await conn.execute(
            sa.select(sa.func.count()).select_from(t.documents).where(t.documents.c.digest == attached[0][0].digest)
        )
    # The document once; beside it each case keeps the disclosures of its own issuance (salted afresh each time).
    assert copies.scalar() == 1 and stored == 3
