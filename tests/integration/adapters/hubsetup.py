"""Set-up shared by the adapter tests that go through a real hub: departments, catalog, grants, an open case."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from exchange.clock import now_us
from exchange.storage import tables as t
from exchange.testing import HubFixture, system_caller

RESTAURANT_DATASETS = ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate")
CONSUMER = "SVC"


async def open_case(hub: HubFixture, service_item: str, lead: str, applicant: str, *others: str) -> str:
    """An open case led by lead (rows written directly: the adapters tests need only what authz reads)."""
    case_id = f"c-{uuid.uuid4().hex[:16]}"
    now = now_us()
    async with hub.hub.db.begin() as conn:
        await conn.execute(
            sa.insert(t.cases).values(
                id=case_id,
                service_item=service_item,
                applicant_id=applicant,
                lead_department=lead,
                state="in_review",
                version=1,
                submitted_at_us=now,
                updated_at_us=now,
                case_json=json.dumps({"id": case_id}),
            )
        )
        for department in (lead, *others):
            await conn.execute(
                sa.insert(t.case_departments).values(case_id=case_id, department=department, role="lead")
            )
    return case_id


async def grant(hub: HubFixture, dataset: str, fields: tuple[str, ...], consumer: str = CONSUMER) -> None:
    """The dataset's owner grants consumer the fields for any purpose."""
    await hub.running.registry.create_grant(system_caller(), consumer=consumer, dataset=dataset, fields=fields)


async def catalog_for_restaurants(hub: HubFixture) -> None:
    """The restaurant permit's four datasets, the enterprise register and the service item."""
    for name in (*RESTAURANT_DATASETS, "enterprise_register"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
