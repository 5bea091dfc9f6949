"""Grants and access requests through a real hub: who may grant what, approvals, denials, explanations."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from exchange.auth.identity import Role
from exchange.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted
from exchange.storage import tables as t
from exchange.testing import HubFixture
from exchange.v1 import access_pb2, common_pb2

from .conftest import LICENCE_KEY, open_case, populate

ADMIN = (Role.DEPT_ADMIN,)
LICENCE_FIELDS = ["name", "address", "status"]


def ask_identity(**changes: object) -> access_pb2.CreateAccessRequestRequest:
    values: dict[str, object] = {
        "dataset": "identity_record",
        "fields": ["resident_id", "name"],
        "service_items": ["restaurant_permit"],
        "legal_basis": "Food Safety Law art. 35",
        "justification": "identify the legal representative of the applicant",
    }
    values.update(changes)
    return access_pb2.CreateAccessRequestRequest(**values)  # type: ignore[arg-type]


async def explain(
    hub: HubFixture, dept: str, dataset: str, case_id: str, *fields: str
) -> access_pb2.ExplainAccessResponse:
    client = hub.client(dept, roles=(Role.OFFICER,))
    request = access_pb2.ExplainAccessRequest(
        department=dept, dataset=dataset, purpose=common_pb2.Purpose(case_id=case_id), fields=list(fields)
    )
    response: access_pb2.ExplainAccessResponse = await client.call(client._stubs.access.ExplainAccess, request)
    return response


async def test_owner_grants_an_unconditional_dataset_and_explain_shows_the_allowed_fields(
    permit_hub: HubFixture,
) -> None:
    case = await open_case(permit_hub, "case-1")
    before = await explain(permit_hub, "FIRE", "business_licence", case, "name")
    assert before.decision == common_pb2.DECISION_DENY and before.reason == "NO_GRANT"
    assert "ask SAMR" in before.message and before.checks[-1].startswith("denied:")

    samr = permit_hub.client("SAMR", roles=ADMIN)
    grant = await samr.create_grant("FIRE", "business_licence", ["*"], service_items=["restaurant_permit"])
    after = await explain(permit_hub, "FIRE", "business_licence", case, *LICENCE_FIELDS)
    assert after.decision == common_pb2.DECISION_ALLOW and after.grant_id == grant.id
    assert list(after.fields) == ["name", "address", "status"]
    actions = [e.action for e in await permit_hub.log_entries()]
    assert "grants.create" in actions and actions.count("authz.explain") == 2


async def test_only_the_owner_or_a_hub_admin_may_grant(permit_hub: HubFixture) -> None:
    fire_admin = permit_hub.client("FIRE", roles=ADMIN)
    with pytest.raises(PermissionDenied) as refused:
        await fire_admin.create_grant("FIRE", "business_licence", ["name"])
    assert refused.value.reason == "NOT_OWNER"
    hub_admin = permit_hub.client("HUB", roles=(Role.HUB_ADMIN,))
    grant = await hub_admin.create_grant("FIRE", "business_licence", ["name"])
    assert grant.consumer == "FIRE"
    # Department admins see the grants they hold and those on their datasets, nobody else's.
    for department, sees in (("FIRE", True), ("SAMR", True), ("MNR", False)):
        admin = permit_hub.client(department, roles=ADMIN)
        listed = await admin.call(admin._stubs.access.ListGrants, access_pb2.ListGrantsRequest())
        assert ([g.id for g in listed.grants] == [grant.id]) is sees, department
    mnr = permit_hub.client("MNR", roles=ADMIN)
    with pytest.raises(NotFound):
        await mnr.call(mnr._stubs.access.GetGrant, access_pb2.GetGrantRequest(id=grant.id))


async def test_not_shared_is_never_granted_nor_requested(permit_hub: HubFixture) -> None:
    hub_admin = permit_hub.client("HUB", roles=(Role.HUB_ADMIN,))
    with pytest.raises(PermissionDenied) as refused:
        await hub_admin.create_grant("FIRE", "criminal_record", ["resident_id"])
    assert refused.value.reason == "DATASET_NOT_SHARED"
    fire = permit_hub.client("FIRE", roles=ADMIN)
    with pytest.raises(PermissionDenied) as asked:
        await fire.call(
            fire._stubs.access.CreateAccessRequest, ask_identity(dataset="criminal_record", fields=["offence"])
        )
    assert asked.value.reason == "DATASET_NOT_SHARED"


async def test_conditional_dataset_is_granted_only_by_approving_a_request(permit_hub: HubFixture) -> None:
    case = await open_case(permit_hub, "case-1")
    psb = permit_hub.client("PSB", roles=ADMIN)
    with pytest.raises(PermissionDenied) as direct:
        await psb.create_grant("FIRE", "identity_record", ["name"])
    assert direct.value.reason == "ACCESS_REQUEST_REQUIRED"

    fire = permit_hub.client("FIRE", roles=ADMIN)
    created = (await fire.call(fire._stubs.access.CreateAccessRequest, ask_identity())).request
    assert created.status == access_pb2.ACCESS_REQUEST_STATUS_PENDING and created.consumer == "FIRE"
    due = datetime.fromtimestamp(created.answer_due_us / 1e6, UTC)
    assert due > datetime.fromtimestamp(created.requested_at_us / 1e6, UTC) and not created.overdue
    assert (await explain(permit_hub, "FIRE", "identity_record", case, "name")).reason == "ACCESS_REQUEST_PENDING"

    inbox = await psb.call(psb._stubs.access.ListAccessRequests, access_pb2.ListAccessRequestsRequest(owner="PSB"))
    assert [r.id for r in inbox.requests] == [created.id]
    with pytest.raises(PermissionDenied):
        await fire.call(
            fire._stubs.access.DecideAccessRequest,
            access_pb2.DecideAccessRequestRequest(id=created.id, approve=True),
        )

    decided = await psb.call(
        psb._stubs.access.DecideAccessRequest, access_pb2.DecideAccessRequestRequest(id=created.id, approve=True)
    )
    assert decided.request.status == access_pb2.ACCESS_REQUEST_STATUS_APPROVED
    assert decided.grant.access_request_id == created.id and decided.request.grant_id == decided.grant.id
    assert list(decided.grant.fields) == ["resident_id", "name"]
    assert (await explain(permit_hub, "FIRE", "identity_record", case, "name")).decision == common_pb2.DECISION_ALLOW

    with pytest.raises(FailedPrecondition) as again:
        await psb.call(
            psb._stubs.access.DecideAccessRequest,
            access_pb2.DecideAccessRequestRequest(id=created.id, approve=False, reason="x"),
        )
    assert again.value.reason == "ACCESS_REQUEST_DECIDED"


async def test_denial_needs_a_reason_and_is_explained_to_the_requester(permit_hub: HubFixture) -> None:
    case = await open_case(permit_hub, "case-1")
    fire = permit_hub.client("FIRE", roles=ADMIN)
    psb = permit_hub.client("PSB", roles=ADMIN)
    created = (await fire.call(fire._stubs.access.CreateAccessRequest, ask_identity())).request
    with pytest.raises(InvalidArgument) as no_reason:
        await psb.call(psb._stubs.access.DecideAccessRequest, access_pb2.DecideAccessRequestRequest(id=created.id))
    assert no_reason.value.reason == "REASON_REQUIRED"
    denied = await psb.call(
        psb._stubs.access.DecideAccessRequest,
        access_pb2.DecideAccessRequestRequest(id=created.id, reason="the fire service needs no identity numbers"),
    )
    assert denied.request.status == access_pb2.ACCESS_REQUEST_STATUS_DENIED and not denied.HasField("grant")
    assert denied.request.decision_reason == "the fire service needs no identity numbers"
    assert (await explain(permit_hub, "FIRE", "identity_record", case, "name")).reason == "ACCESS_REQUEST_DENIED"
    entries = [e for e in await permit_hub.log_entries() if e.action.startswith("access_requests.")]
    assert [(e.action, e.decision, e.reason) for e in entries] == [
        ("access_requests.create", "allow", ""),
        ("access_requests.decide", "deny", "REASON_REQUIRED"),  # the refused attempt without a reason
        ("access_requests.decide", "allow", ""),
    ]


async def test_incomplete_request_lists_everything_missing_at_once(permit_hub: HubFixture) -> None:
    fire = permit_hub.client("FIRE", roles=ADMIN)
    with pytest.raises(InvalidArgument) as refused:
        await fire.call(
            fire._stubs.access.CreateAccessRequest,
            ask_identity(fields=["shoe_size"], service_items=["no_such_item"], legal_basis=" ", justification=""),
        )
    assert {v.field for v in refused.value.violations} == {
        "fields[0]",
        "service_items[0]",
        "legal_basis",
        "justification",
    }


async def test_unanswered_request_is_reported_overdue_and_visible_only_to_its_parties(
    permit_hub: HubFixture,
) -> None:
    fire = permit_hub.client("FIRE", roles=ADMIN)
    created = (await fire.call(fire._stubs.access.CreateAccessRequest, ask_identity())).request
    psb = permit_hub.client("PSB", roles=ADMIN)
    listing = access_pb2.ListAccessRequestsRequest(owner="PSB", overdue_only=True)
    assert not (await psb.call(psb._stubs.access.ListAccessRequests, listing)).requests
    # As if it had been filed more than ten working days ago.
    async with permit_hub.hub.db.begin() as conn:
        await conn.execute(
            t.access_requests.update().where(t.access_requests.c.id == created.id).values(answer_due_us=1)
        )
    overdue = await psb.call(psb._stubs.access.ListAccessRequests, listing)
    assert [(r.id, r.overdue) for r in overdue.requests] == [(created.id, True)]

    auditor = permit_hub.client("HUB", roles=(Role.AUDITOR,))
    everything = access_pb2.ListAccessRequestsRequest()
    assert len((await auditor.call(auditor._stubs.access.ListAccessRequests, everything)).requests) == 1
    samr = permit_hub.client("SAMR", roles=ADMIN)
    assert not (await samr.call(samr._stubs.access.ListAccessRequests, everything)).requests
    with pytest.raises(NotFound):
        await samr.call(samr._stubs.access.GetAccessRequest, access_pb2.GetAccessRequestRequest(id=created.id))


async def test_quota_per_grant_is_exhausted_and_logged(permit_hub: HubFixture) -> None:
    case = await open_case(permit_hub, "case-1")
    samr = permit_hub.client("SAMR", roles=ADMIN)
    await samr.create_grant("FIRE", "business_licence", ["*"], rate_per_minute=2)
    fire = permit_hub.client("FIRE")
    for _ in range(2):
        document = await fire.fetch("business_licence", LICENCE_KEY, case_id=case, fields=["name"])
        assert document.fields == ("name",)
    with pytest.raises(ResourceExhausted) as third:
        await fire.fetch("business_licence", LICENCE_KEY, case_id=case, fields=["name"])
    assert third.value.reason == "QUOTA_EXCEEDED" and third.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    last = (await permit_hub.log_entries())[-1]
    assert (last.decision, last.reason, last.caller_department) == ("deny", "QUOTA_EXCEEDED", "FIRE")


async def test_fetch_returns_only_fields_both_granted_and_needed(permit_hub: HubFixture) -> None:
    case = await open_case(permit_hub, "case-1")
    samr = permit_hub.client("SAMR", roles=ADMIN)
    await samr.create_grant("FIRE", "business_licence", ["*", "legal_representative", "legal_representative_id"])
    document = await permit_hub.client("FIRE").fetch("business_licence", LICENCE_KEY, case_id=case)
    # legal_representative_id is granted but the restaurant permit does not need it; company_type is public
    # but not needed either.
    assert "legal_representative" in document.data
    assert "legal_representative_id" not in document.data and "company_type" not in document.data


async def test_request_inbox_overdue_and_approval_on_each_backend(any_backend_hub: HubFixture) -> None:
    hub = await populate(any_backend_hub)
    fire = hub.client("FIRE", roles=ADMIN)
    psb = hub.client("PSB", roles=ADMIN)
    late = (await fire.call(fire._stubs.access.CreateAccessRequest, ask_identity())).request
    fresh = (await fire.call(fire._stubs.access.CreateAccessRequest, ask_identity(fields=["name"]))).request
    async with hub.hub.db.begin() as conn:
        await conn.execute(t.access_requests.update().where(t.access_requests.c.id == late.id).values(answer_due_us=1))
    overdue = access_pb2.ListAccessRequestsRequest(owner="PSB", overdue_only=True)
    assert [r.id for r in (await psb.call(psb._stubs.access.ListAccessRequests, overdue)).requests] == [late.id]
    approve = access_pb2.DecideAccessRequestRequest(id=fresh.id, approve=True)
    grant = (await psb.call(psb._stubs.access.DecideAccessRequest, approve)).grant
    pending = access_pb2.ListAccessRequestsRequest(consumer="FIRE", status=access_pb2.ACCESS_REQUEST_STATUS_PENDING)
    assert [r.id for r in (await fire.call(fire._stubs.access.ListAccessRequests, pending)).requests] == [late.id]
    grants = await fire.call(fire._stubs.access.ListGrants, access_pb2.ListGrantsRequest(consumer="FIRE"))
    assert [(g.id, g.access_request_id) for g in grants.grants] == [(grant.id, fresh.id)]


async def test_only_the_owners_department_admin_answers_a_request_not_the_hub_operator(permit_hub: HubFixture) -> None:
    fire = permit_hub.client("FIRE", roles=ADMIN)
    created = (await fire.call(fire._stubs.access.CreateAccessRequest, ask_identity())).request
    hub_admin = permit_hub.client("HUB", roles=(Role.HUB_ADMIN,))
    approve = access_pb2.DecideAccessRequestRequest(id=created.id, approve=True)
    with pytest.raises(PermissionDenied) as refused:
        await hub_admin.call(hub_admin._stubs.access.DecideAccessRequest, approve)
    assert refused.value.reason == "NOT_OWNER" and "PSB" in refused.value.message


async def test_asking_about_another_department_is_refused_and_the_refusal_logged(permit_hub: HubFixture) -> None:
    case = await open_case(permit_hub, "case-explain")
    client = permit_hub.client("FIRE", roles=(Role.OFFICER,))
    request = access_pb2.ExplainAccessRequest(
        department="SAMR", dataset="business_licence", purpose=common_pb2.Purpose(case_id=case)
    )
    with pytest.raises(PermissionDenied) as refused:
        await client.call(client._stubs.access.ExplainAccess, request)
    assert refused.value.reason == "NOT_OWNER"
    last = (await permit_hub.log_entries())[-1]
    assert (last.action, last.decision, last.reason) == ("authz.explain", "deny", "NOT_OWNER")
    assert (last.caller_department, last.dataset) == ("FIRE", "business_licence")
