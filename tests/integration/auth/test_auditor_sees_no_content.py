"""An auditor token cannot obtain a document's contents through any RPC of any service."""

from __future__ import annotations

from typing import Any

from exchange.auth.identity import Role
from exchange.testing import HubFixture
from exchange.v1 import cases_pb2

from .conftest import LICENCE_KEY, SECRET_MARKER
from .rpc_walk import call_raw, filled_request, hub_methods, path_of


async def _case_with_the_licence_in_its_material_set(hub: HubFixture) -> tuple[str, str]:
    """A restaurant-permit case whose material set holds the licence; returns (case id, grant id)."""
    samr = hub.client("SAMR")
    created = await samr.call(
        samr._stubs.cases.CreateCase,
        cases_pb2.CreateCaseRequest(
            service_item="restaurant_permit", applicant_id=LICENCE_KEY, applicant_kind="organisation", title="permit"
        ),
    )
    case_id = created.case.id
    admin = hub.client("SAMR", roles=(Role.DEPT_ADMIN,))
    grant = await admin.create_grant("FIRE", "business_licence", ["*", "legal_representative"])
    fire = hub.client("FIRE")
    await fire.call(
        fire._stubs.cases.AttachMaterial,
        cases_pb2.AttachMaterialRequest(case_id=case_id, dataset="business_licence", key=LICENCE_KEY),
    )
    material = await fire.call(
        fire._stubs.cases.GetMaterial, cases_pb2.GetMaterialRequest(case_id=case_id, dataset="business_licence")
    )
    assert SECRET_MARKER.encode() in material.SerializeToString(), "the officer on the case reads the contents"
    return case_id, grant.id


async def _walk(hub: HubFixture, department: str, role: Role, hints: dict[str, Any], ids: tuple[str, ...]) -> list[str]:
    """Call every RPC as `role` of `department` with requests filled from `hints`; the RPCs that leaked."""
    client = hub.client(department, officer=f"{role.value}-{department}", roles=(role,))
    leaked = []
    for method in hub_methods():
        for target in ids:
            outcome = await call_raw(
                client.channel, method, filled_request(method, {**hints, "id": target}), client.metadata()
            )
            carried = b"".join(r.SerializeToString() for r in outcome.responses) + outcome.details.encode()
            if SECRET_MARKER.encode() in carried:
                leaked.append(path_of(method))
    return leaked


async def test_auditor_gets_no_document_contents_from_any_rpc(permit_hub: HubFixture) -> None:
    case_id, grant_id = await _case_with_the_licence_in_its_material_set(permit_hub)
    entries = await permit_hub.log_entries()
    hints: dict[str, Any] = {
        "case_id": case_id,
        "dataset": "business_licence",
        "key": LICENCE_KEY,
        "subject_id": LICENCE_KEY,
        "applicant_id": LICENCE_KEY,
        "department": "FIRE",
        "fields": ["name"],
        "index": entries[-1].index,
        "size": len(entries),
        "tree_size": len(entries),
        "first": 1,
        "second": len(entries),
        "include_hidden": True,
    }
    ids = (case_id, grant_id, str(entries[-1].index))
    # The walk finds contents where they are: an officer on the case reads them.
    assert "/exchange.v1.CaseService/GetMaterial" in await _walk(permit_hub, "FIRE", Role.OFFICER, hints, ids)
    # An auditor of the hub never does; a department on the case cannot even claim the auditor role
    # (the hub holds it for its own department only: test_roles_held_by_hub.py), so it reads nothing either.
    assert await _walk(permit_hub, "HUB", Role.AUDITOR, hints, ids) == []
    assert await _walk(permit_hub, "FIRE", Role.AUDITOR, hints, ids) == []
