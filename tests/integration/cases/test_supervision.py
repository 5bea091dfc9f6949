"""电子监察 with a controlled clock: reminders, escalation, warning levels (红黄牌) and the published events,
across the Labour Day holiday, a weekend and the make-up working Saturday (examples/calendar/cn-2026.yaml)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exchange.auth.identity import Role
from exchange.errors import FailedPrecondition, PermissionDenied
from exchange.events import EventKind, MemoryPublisher
from exchange.supervision.desk import SupervisionDesk
from exchange.supervision.scheduler import Supervisor
from exchange.v1 import access_pb2
from tests.integration.cases.conftest import ITEM, PermitWorld
from tests.integration.cases.test_deadlines_rpc import at, end_of


def ask_identity() -> access_pb2.CreateAccessRequestRequest:
    return access_pb2.CreateAccessRequestRequest(
        dataset="identity_record",
        fields=["resident_id", "name"],
        service_items=[ITEM],
        legal_basis="Tax Collection Administration Law art. 6",
        justification="check the legal representative of a restaurant applying for a permit",
    )


class Clock:
    """The hub's and the case desk's "now", moved by the test."""

    def __init__(self, world: PermitWorld, start: int) -> None:
        self.now = start
        world.hub.hub.clock = world.desk.clock = lambda: self.now


def configure(world: PermitWorld, **settings: object) -> None:
    hub = world.hub.hub
    hub.settings = replace(hub.settings, **settings)


async def test_request_and_case_pass_their_limits_across_labour_day_and_a_weekend(world: PermitWorld) -> None:
    configure(world, access_request_days=3, reminder_working_days=2, yellow_working_days=1)
    hub = world.hub.hub
    clock = Clock(world, at(4, 29))  # Wednesday before the holiday (1-5 May)
    supervisor: Supervisor = world.hub.running.app.supervisor
    # The events as published (the hub's durable outbox stands behind `hub.events` in production).
    publisher = hub.events = MemoryPublisher()

    tax = world.hub.client("TAX", roles=(Role.DEPT_ADMIN,))
    request = (await tax.call(tax._stubs.access.CreateAccessRequest, ask_identity())).request
    # 3 working days: 30 April, then 6 and 7 May (1-5 May are the holiday and its weekend).
    assert request.answer_due_us == end_of(5, 7)
    samr = world.officer("SAMR")
    case = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    case = await samr.transition_case(case.id, "accept", case.version)
    assert case.deadline_us == end_of(5, 15) and case.warning_level == "none"

    async def tick(month: int, day: int) -> list[tuple[str, str, str, object]]:
        clock.now = at(month, day)
        return [(e.kind.value, e.department, e.reference, e.data.get("level")) for e in await supervisor.tick()]

    assert await tick(4, 30) == []  # the request has 2.6 working days left
    # Saturday inside the holiday: exactly 2 working days (6 and 7 May) left; its owner is reminded.
    assert await tick(5, 2) == [("reminder", "PSB", request.id, None)]
    assert await tick(5, 6) == []  # reminded once
    # Friday 8 May: the limit passed unanswered; the hub's supervisors are told, counted against PSB.
    assert await tick(5, 8) == [("escalation", "HUB", request.id, None)]
    assert await tick(5, 8) == []
    another_replica = Supervisor(hub, SupervisionDesk(hub))  # or a restart
    assert await another_replica.tick() == []  # sends nothing again
    # The case: 9 May is a make-up working Saturday, so on Thursday 14 May 1.6 working days are left.
    assert await tick(5, 14) == [("reminder", "SAMR", case.id, None)]
    assert await tick(5, 15) == [("warning", "SAMR", case.id, "yellow")]  # under one working day left
    assert (await samr.get_case(case.id)).warning_level == "yellow"
    assert await tick(5, 16) == [("warning", "SAMR", case.id, "red")]  # Saturday: overdue
    assert await tick(5, 18) == []

    published = [(e.kind, e.department, e.reference) for e in publisher.events]
    assert published == [
        (EventKind.REMINDER, "PSB", request.id),
        (EventKind.ESCALATION, "HUB", request.id),
        (EventKind.REMINDER, "SAMR", case.id),
        (EventKind.WARNING, "SAMR", case.id),
        (EventKind.WARNING, "SAMR", case.id),
    ]
    escalation = publisher.events[1]
    assert escalation.data["owner"] == "PSB" and escalation.data["due_us"] == end_of(5, 7)
    assert escalation.time_us == at(5, 8)

    supervisor_client = world.hub.client("HUB", officer="inspector-1", roles=(Role.SUPERVISOR,))
    assert (await supervisor_client.get_case(case.id)).warning_level == "red"
    warnings = await supervisor_client.list_warnings()
    assert [(w.case_id, w.level, w.lead_department) for w in warnings] == [(case.id, "red", "SAMR")]
    escalated = await supervisor_client.list_escalations("PSB")
    assert [(e.request_id, e.owner, e.consumer, e.escalated_at_us) for e in escalated] == [
        (request.id, "PSB", "TAX", at(5, 8))
    ]
    entries = await world.hub.log_entries()
    logged = [e for e in entries if e.action == "supervision.escalate"]
    assert [(e.caller_department, e.details["request"], e.details["owner"]) for e in logged] == [
        ("HUB", request.id, "PSB")
    ]

    # Late answers are allowed under the default rule, and marked late (in the answer and in the log).
    psb = world.hub.client("PSB", roles=(Role.DEPT_ADMIN,))
    approve = access_pb2.DecideAccessRequestRequest(id=request.id, approve=True)
    answered = (await psb.call(psb._stubs.access.DecideAccessRequest, approve)).request
    assert answered.answered_late and answered.status == access_pb2.ACCESS_REQUEST_STATUS_APPROVED
    approved = [e for e in await world.hub.log_entries() if e.action == "access_requests.decide"]
    assert (approved[-1].details["answer"], approved[-1].details["late"]) == ("approved", "true")
    assert await tick(5, 19) == []  # answered: nothing more about it

    # The applicant withdraws on Monday 18 May: finished late, after 11 working days (29 April 10:00 to 18 May
    # 10:00 on the calendar: 0.58 + 30 April + 6-8 May + the make-up 9th + 11-15 May + 0.42).
    clock.now = at(5, 18)
    case = await samr.get_case(case.id)
    await samr.transition_case(case.id, "withdraw", case.version, reasons=["moved the restaurant"])
    figures = await supervisor_client.supervision_figures(since_us=1)
    rows = {(r.scope, r.key): r for r in figures.rows}
    owner, lead, item = rows[("department", "PSB")], rows[("department", "SAMR")], rows[("service_item", ITEM)]
    assert (owner.escalations, owner.requests_answered, owner.requests_answered_in_time) == (1, 1, 0)
    assert (lead.finished, lead.finished_on_time, lead.on_time_rate) == (1, 0, 0.0)
    assert abs(lead.average_working_days - 11.0) < 1e-6 and item.average_working_days == lead.average_working_days
    assert (lead.yellow_warnings, lead.red_warnings) == (1, 1)


async def test_a_late_answer_is_refused_and_logged_when_the_hub_refuses_them(world: PermitWorld) -> None:
    configure(world, access_request_days=1, late_answer="refuse")
    clock = Clock(world, at(4, 29))
    tax = world.hub.client("TAX", roles=(Role.DEPT_ADMIN,))
    request = (await tax.call(tax._stubs.access.CreateAccessRequest, ask_identity())).request
    assert request.answer_due_us == end_of(4, 30)
    clock.now = at(5, 6)
    psb = world.hub.client("PSB", officer="admin-7", roles=(Role.DEPT_ADMIN,))
    with pytest.raises(FailedPrecondition) as refused:
        await psb.call(
            psb._stubs.access.DecideAccessRequest, access_pb2.DecideAccessRequestRequest(id=request.id, approve=True)
        )
    assert refused.value.reason == "ANSWER_PAST_LIMIT"
    assert "late_answer: refuse" in refused.value.message
    entry = [e for e in await world.hub.log_entries() if e.action == "access_requests.decide"][-1]
    # The one deny rule: the owner may answer (an access decision it passed); the late answer itself failed.
    assert (entry.decision, entry.reason, entry.outcome) == ("allow", "ANSWER_PAST_LIMIT", "FAILED_PRECONDITION")
    assert (entry.caller_department, entry.officer_id, entry.details["target"]) == ("PSB", "admin-7", request.id)
    still = (
        await psb.call(psb._stubs.access.GetAccessRequest, access_pb2.GetAccessRequestRequest(id=request.id))
    ).request
    assert still.status == access_pb2.ACCESS_REQUEST_STATUS_PENDING and still.overdue


async def test_a_supervisor_reads_time_limits_but_never_materials(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    await samr.attach_material(case.id, "business_licence", world.keys["business_licence"])
    inspector = world.hub.client("HUB", officer="inspector-1", roles=(Role.SUPERVISOR,))
    assert (await inspector.get_case(case.id)).id == case.id
    assert [c.id for c in await inspector.list_cases()] == [case.id]
    with pytest.raises(PermissionDenied) as refused:
        await inspector.get_material(case.id, "business_licence")
    assert refused.value.reason == "ROLE_NOT_ALLOWED"
    entry = (await world.hub.log_entries())[-1]
    assert entry.action == "cases.material.read"
    assert (entry.decision, entry.reason, entry.outcome) == ("deny", "ROLE_NOT_ALLOWED", "PERMISSION_DENIED")
    assert (entry.caller_department, entry.officer_id, entry.officer_role) == ("HUB", "inspector-1", "supervisor")
    with pytest.raises(PermissionDenied) as fetch:
        await inspector.fetch("business_licence", world.keys["business_licence"], case_id=case.id)
    assert fetch.value.reason == "ROLE_NOT_ALLOWED"
    # An officer cannot read the supervision figures.
    with pytest.raises(PermissionDenied) as figures:
        await samr.supervision_figures(since_us=1)
    assert figures.value.reason == "ROLE_NOT_ALLOWED"
