"""The Python client's typed API against a real hub: every result is a dataclass of plain values (strings for
enums, tuples, dicts), never generated protobuf, whether it is a registry read, a grant, an access request,
an explanation, a webhook or an access-log read."""

from __future__ import annotations

import dataclasses
from typing import Any

from google.protobuf.message import Message

from exchange.audit.bundle import EvidenceBundle
from exchange.auth.identity import Role
from exchange.client_access import AccessDecision, AccessRequest, Explanation, Grant
from exchange.client_audit import CheckpointInfo, LogEntry, SubjectReport
from exchange.client_registry import DatasetInfo, DepartmentInfo, ServiceItemInfo
from exchange.testing import HubFixture

from .conftest import REPRESENTATIVE, open_case

ADMIN = (Role.DEPT_ADMIN,)


def plain(value: Any) -> Any:
    """The value, after checking that nothing in it is a protobuf message."""
    assert not isinstance(value, Message), type(value)
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            plain(getattr(value, f.name))
    elif isinstance(value, list | tuple):
        for item in value:
            plain(item)
    elif isinstance(value, dict):
        for item in value.values():
            plain(item)
    return value


async def test_registry_reads_are_typed(permit_hub: HubFixture) -> None:
    admin = permit_hub.client("HUB", roles=[Role.HUB_ADMIN])
    datasets = plain(await admin.list_datasets(owner="SAMR"))
    assert all(isinstance(d, DatasetInfo) for d in datasets)
    assert "business_licence" in [d.code for d in datasets]
    licence = plain(await admin.get_dataset("business_licence"))
    assert (licence.owner, licence.sharing, licence.status) == ("SAMR", "unconditional", "published")
    assert "name" in [f["name"] for f in licence.spec["fields"]]
    assert [d.code for d in plain(await admin.search_datasets("legal represent"))] == ["business_licence"]

    samr = plain(await admin.get_department("SAMR"))
    assert isinstance(samr, DepartmentInfo)
    assert samr.status == "active"
    assert {k.use for k in samr.keys} == {"token", "signing"}
    assert "SAMR" in [d.code for d in plain(await admin.list_departments())]

    item = plain(await admin.get_service_item("restaurant_permit"))
    assert isinstance(item, ServiceItemInfo)
    assert (item.lead_department, "business_licence" in item.materials) == ("SAMR", True)
    assert [i.code for i in plain(await admin.list_service_items())] == ["restaurant_permit"]

    suspended = plain(await admin.set_department_status("MNR", "suspended", reason="typed client test"))
    assert suspended.status == "suspended"


async def test_grants_requests_and_explanations_are_typed(permit_hub: HubFixture) -> None:
    case = await open_case(permit_hub, "case-typed")
    samr = permit_hub.client("SAMR", roles=ADMIN)
    fire = permit_hub.client("FIRE")

    grant = plain(await samr.create_grant("FIRE", "business_licence", ["name"]))
    assert isinstance(grant, Grant)
    assert (grant.consumer, grant.fields, grant.status) == ("FIRE", ("name",), "active")
    assert [g.id for g in plain(await samr.list_grants(dataset="business_licence"))] == [grant.id]

    allowed = plain(await fire.explain_access("business_licence", case_id=case))
    assert isinstance(allowed, Explanation)
    assert (allowed.allowed, allowed.grant_id, allowed.fields) == (True, grant.id, ("name",))
    assert allowed.checks

    revoked = plain(await samr.revoke_grant(grant.id, reason="typed client test"))
    assert (revoked.status, revoked.revoke_reason) == ("revoked", "typed client test")
    refused = plain(await fire.explain_access("business_licence", case_id=case))
    assert (refused.allowed, refused.reason) == (False, "GRANT_REVOKED")

    fire_admin = permit_hub.client("FIRE", roles=ADMIN)
    asked = plain(
        await fire_admin.create_access_request(
            "identity_record",
            ["name"],
            ["restaurant_permit"],
            legal_basis="Food Safety Law art. 35",
            justification="identify the legal representative",
        )
    )
    assert isinstance(asked, AccessRequest)
    assert (asked.status, asked.consumer) == ("pending", "FIRE")
    psb = permit_hub.client("PSB", roles=ADMIN)
    assert [r.id for r in plain(await psb.list_access_requests(owner="PSB", status="pending"))] == [asked.id]
    decided = plain(await psb.decide_access_request(asked.id, approve=True))
    assert isinstance(decided, AccessDecision)
    assert decided.grant is not None
    assert (decided.request.status, decided.request.grant_id) == ("approved", decided.grant.id)
    assert plain(await fire_admin.get_access_request(asked.id)).status == "approved"


async def test_webhooks_are_typed(permit_hub: HubFixture) -> None:
    admin = permit_hub.client("FIRE", roles=ADMIN)
    assert await admin.get_webhook() is None
    made = plain(await admin.set_webhook("https://fire.example/hook", scheme="ed25519"))
    assert made.webhook.scheme == "ed25519"
    assert made.webhook.public_key_pem
    shown = plain(await admin.get_webhook())
    assert shown is not None
    assert (shown.url, shown.kinds) == ("https://fire.example/hook", ())
    assert await admin.delete_webhook() is True
    assert await admin.delete_webhook() is False


async def test_access_log_reads_are_typed(permit_hub: HubFixture) -> None:
    case = await open_case(permit_hub, "case-log")
    fire = permit_hub.client("FIRE")
    refused = await fire.explain_access("business_licence", case_id=case)
    assert not refused.allowed
    auditor = permit_hub.client("HUB", roles=[Role.AUDITOR])

    entries: list[LogEntry] = []
    async for page in auditor.query_entries(department="FIRE", page_size=2):
        entries.extend(plain(page).entries)
    assert entries
    assert {e.caller_department for e in entries} == {"FIRE"}
    assert {e.decision for e in entries} <= {"allow", "deny"}
    assert all(e.record["caller_department"] == "FIRE" for e in entries)

    checkpoint = plain(await auditor.get_checkpoint(sign_now=True))
    assert isinstance(checkpoint, CheckpointInfo)
    assert checkpoint.size >= len(entries)
    assert checkpoint.signed_note.startswith(checkpoint.origin)
    proof = plain(await auditor.get_consistency_proof(1, checkpoint.size))
    assert all(isinstance(h, bytes) for h in proof)

    bundle = EvidenceBundle.from_text(await auditor.get_evidence_bundle(entries[0].index))
    assert bundle is not None

    report = plain(await auditor.get_subject_report(REPRESENTATIVE))
    assert isinstance(report, SubjectReport)
    assert report.subject_id == REPRESENTATIVE

    admin = permit_hub.client("HUB", roles=[Role.HUB_ADMIN])
    hidden = plain(await admin.set_hidden_accesses("PSB", hidden=True, legal_basis="Counter-espionage Law art. 9"))
    assert (hidden.department, hidden.hidden) == ("PSB", True)
