"""A restaurant permit end to end through gRPC: materials fetched once, read by every reviewer, approved."""

from __future__ import annotations

import pytest

from exchange.errors import PermissionDenied
from tests.integration.cases.conftest import ITEM, PermitWorld

MATERIALS = ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate")


async def open_in_review(world: PermitWorld) -> tuple[str, int]:
    """A permit case accepted and in review; its id and version."""
    samr = world.officer("SAMR")
    case = await samr.create_case(
        ITEM, world.keys["business_licence"], parties=world.parties, title="福满楼 restaurant permit"
    )
    case = await samr.transition_case(case.id, "accept", case.version)
    case = await samr.transition_case(case.id, "start_review", case.version)
    return case.id, case.version


async def test_permit_case_end_to_end_fetches_each_material_once(any_backend_world: PermitWorld) -> None:
    world = any_backend_world
    samr, fire, mnr = world.officer("SAMR"), world.officer("FIRE"), world.officer("MNR")
    case_id, _ = await open_in_review(world)
    for dataset in MATERIALS:
        material, fetched = await samr.attach_material(case_id, dataset, world.keys[dataset])
        assert fetched and material.version == 1 and material.current
        assert material.provenance.signature and material.provenance.kid
    assert world.total_lookups() == 4
    upstream_before = world.hub.running.fetcher.upstream_calls
    for reviewer in (fire, mnr, samr):
        for dataset in MATERIALS:
            read = await reviewer.get_material(case_id, dataset)
            assert read.data and read.receipt is not None
    assert world.total_lookups() == 4
    assert world.hub.running.fetcher.upstream_calls == upstream_before
    for client in (samr, fire, mnr):
        case = await client.record_opinion(case_id, "approve", comment="in order")
    case = await samr.transition_case(case_id, "approve", case.version)
    assert case.state == "approved"
    kinds = [step.kind for step in case.timeline]
    assert kinds[:3] == ["submit", "accept", "start_review"]
    assert kinds.count("material_attached") == 4 and kinds.count("opinion") == 3 and kinds[-1] == "approve"
    saved = await samr.get_savings(case_id=case_id)
    assert (saved.materials_fetched, saved.reads_from_case, saved.submissions_avoided) == (4, 12, 12)
    assert await samr.get_savings(service_item=ITEM) == saved == await samr.get_savings()
    actions = [e.action for e in await world.hub.log_entries()]
    assert actions.count("cases.material.attach") == 4
    assert actions.count("cases.material.read") == 12
    assert actions.count("cases.check_material") == 3
    for action in ("cases.create", "cases.transition", "cases.opinion"):
        assert action in actions


async def test_non_involved_department_is_refused_a_material(world: PermitWorld) -> None:
    samr, tax = world.officer("SAMR"), world.officer("TAX")
    case_id, _ = await open_in_review(world)
    await samr.attach_material(case_id, "business_licence", world.keys["business_licence"])
    with pytest.raises(PermissionDenied) as refused:
        await tax.get_material(case_id, "business_licence")
    assert refused.value.reason == "NOT_INVOLVED"
    with pytest.raises(PermissionDenied):
        await tax.get_case(case_id)
    denied = [e for e in await world.hub.log_entries() if e.caller_department == "TAX"]
    assert {e.action for e in denied} == {"cases.material.read", "cases.read"}
    assert all(e.decision == "deny" and e.subject_id == world.keys["business_licence"] for e in denied)


async def test_each_reader_sees_only_its_grant_within_the_items_fields(world: PermitWorld) -> None:
    from exchange.app import grant_records
    from exchange.testing import system_caller

    samr, mnr = world.officer("SAMR"), world.officer("MNR")
    case_id, _ = await open_in_review(world)
    await samr.attach_material(case_id, "business_licence", world.keys["business_licence"])
    registry = world.hub.running.registry
    async with world.hub.hub.db.read() as conn:
        for grant in await grant_records.grants_for(conn, "MNR", "business_licence"):
            await registry.revoke_grant(grant.id, "narrowed to what land review needs", system_caller())
    # legal_representative_id is granted but the permit does not need it: the case never shows it.
    await registry.create_grant(
        system_caller(),
        consumer="MNR",
        dataset="business_licence",
        fields=("name", "address", "legal_representative_id"),
    )
    read = await mnr.get_material(case_id, "business_licence")
    assert read.data is not None and set(read.data) == {"name", "address"}
    full = await samr.get_material(case_id, "business_licence")
    assert full.data is not None and "business_scope" in full.data and "legal_representative_id" not in full.data
    entry = next(e for e in await world.hub.log_entries() if e.action == "cases.material.read")
    assert set(entry.fields) == {"name", "address"}
