"""A restaurant permit against the demo departments' real adapter processes (REST, SQL, Parquet, CSV sources)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.client import PartyInfo
from exchange.demo.departments import DemoDepartments, applicant_parties
from exchange.errors import FailedPrecondition
from exchange.testing import HubFixture, start_test_hub, system_caller
from tests.integration.cases.conftest import CALENDAR, ITEM

REVIEWERS = ("SAMR", "FIRE", "MNR")


async def catalog_and_grants(hub: HubFixture, deps: DemoDepartments) -> None:
    for code, dept in deps.departments.items():
        await hub.add_department(
            code, name=dept.name, adapter_endpoint=dept.endpoint, signing_public_key=dept.signing_key_pem
        )
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        # The identity register is conditional; these grants stand for approved access requests.
        await hub.register_example_dataset(name, **({"sharing_type": "unconditional"} if "identity" in name else {}))
    item = await hub.register_example_item(ITEM)
    for material in item.required_materials:
        for consumer in REVIEWERS:
            await hub.running.registry.create_grant(
                system_caller(), consumer=consumer, dataset=material.dataset, fields=material.fields
            )


async def test_permit_through_real_adapter_processes_and_a_suspended_licence_refused(tmp_path: Path) -> None:
    hub = await start_test_hub(tmp_path / "hub", calendar_file=str(CALENDAR))
    try:
        async with DemoDepartments(tmp_path / "demo", seed=11, pki=hub.pki_dir) as deps:
            await catalog_and_grants(hub, deps)
            s = deps.samples
            samr = hub.client("SAMR")
            for company, approvable in ((s.company_uscc, True), (s.suspended_company_uscc, False)):
                # The suspended company applies for the same premises, run by the sample company (its fire certificate).
                parties = [*applicant_parties(s)] + (
                    [] if approvable else [PartyInfo("other", s.company_uscc, name="premises operator")]
                )
                case = await samr.create_case(ITEM, company, title="restaurant permit", parties=parties)
                case = await samr.transition_case(case.id, "accept", case.version)
                case = await samr.transition_case(case.id, "start_review", case.version)
                await samr.attach_material(case.id, "business_licence", company)
                for dataset, key in (
                    ("identity_record", s.legal_representative_id),
                    ("property_certificate", s.property_licence_id),
                    ("fire_safety_certificate", s.fire_licence_id),
                ):
                    _, fetched = await samr.attach_material(case.id, dataset, key)
                    assert fetched
                for dept in REVIEWERS:
                    read = await hub.client(dept).get_material(case.id, "business_licence")
                    assert read.data and read.data["unified_social_credit_code"] == company
                    case = await hub.client(dept).record_opinion(case.id, "approve")
                if approvable:
                    case = await samr.transition_case(case.id, "approve", case.version)
                    assert case.state == "approved"
                    assert case.savings.materials_fetched == 4 and case.savings.reads_from_case == 3
                else:
                    with pytest.raises(FailedPrecondition) as refused:
                        await samr.transition_case(case.id, "approve", case.version)
                    assert refused.value.reason == "MATERIAL_NO_LONGER_VALID"
                    assert "business_licence" in refused.value.message
    finally:
        await hub.stop()
