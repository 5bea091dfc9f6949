"""A hub with the restaurant-permit departments, datasets and service item, and cases opened directly in storage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from exchange.clock import now_us
from exchange.storage import tables as t
from exchange.testing import HubFixture, start_test_hub

DEPARTMENTS = ("SAMR", "FIRE", "MNR", "PSB")
DATASETS = ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate", "criminal_record")


async def populate(fixture: HubFixture) -> HubFixture:
    """Register the example departments, datasets and the restaurant permit."""
    for code in DEPARTMENTS:
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
) -> str:
    """A case row as the case service stores it: what purpose binding reads."""
    now = now_us()
    async with fixture.hub.db.begin() as conn:
        await conn.execute(
            t.cases.insert().values(
                id=case_id,
                service_item=item,
                applicant_id="91110105MA01XXXXX1",
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
    return case_id


@pytest.fixture
async def permit_hub(tmp_path) -> AsyncIterator[HubFixture]:
    """A hub on SQLite with the restaurant-permit world registered."""
    fixture = await start_test_hub(tmp_path / "hub")
    try:
        yield await populate(fixture)
    finally:
        await fixture.stop()
