"""Every lifecycle transition through TransitionCase: the legal ones move the case, the illegal ones name its state."""

from __future__ import annotations

import asyncio

import pytest

from exchange.cases.lifecycle import TRANSITIONS, CaseAction, CaseState
from exchange.client import CaseInfo
from exchange.errors import Aborted, FailedPrecondition, InvalidArgument, PermissionDenied
from tests.integration.cases.conftest import ITEM, PermitWorld, act, case_in


async def test_every_transition_legal_and_illegal_through_rpc(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    for state in CaseState:
        for action in CaseAction:
            case = await case_in(world, state)
            target = TRANSITIONS.get((state, action), "illegal")
            if action is CaseAction.SUBMIT_CORRECTION and state is CaseState.AWAITING_CORRECTION:
                target = CaseState.SUBMITTED
            if target == "illegal":
                with pytest.raises(FailedPrecondition) as refused:
                    await act(samr, case, action.value, world)
                # A second correction notice is refused by the once-only rule before the state machine.
                once = refused.value.reason == "CORRECTION_ALREADY_REQUESTED"
                assert once or f"case is {state.value}" in refused.value.message, refused.value.message
                continue
            moved = await act(samr, case, action.value, world)
            assert moved.state == str(target), (state, action)


async def test_stale_version_is_aborted_naming_who_changed_it(world: PermitWorld) -> None:
    first, second = world.officer("SAMR", "li.wei"), world.officer("SAMR", "zhang.min")
    case = await first.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    await first.transition_case(case.id, "accept", case.version)
    with pytest.raises(Aborted) as conflict:
        await second.transition_case(case.id, "not_accept", case.version, reasons=["late"])
    assert conflict.value.reason == "VERSION_CONFLICT" and "li.wei" in conflict.value.message
    with pytest.raises(InvalidArgument):
        await second.transition_case(case.id, "start_review", 0)


async def test_concurrent_transitions_one_wins_the_other_is_aborted(world: PermitWorld) -> None:
    a, b = world.officer("SAMR", "a"), world.officer("SAMR", "b")
    case = await a.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    results = await asyncio.gather(
        a.transition_case(case.id, "accept", case.version),
        b.transition_case(case.id, "withdraw", case.version),
        return_exceptions=True,
    )
    assert sum(isinstance(r, CaseInfo) for r in results) == 1
    assert sum(isinstance(r, Aborted | FailedPrecondition) for r in results) == 1
    assert (await a.get_case(case.id)).version == case.version + 1


async def test_concurrent_opinions_of_different_departments_are_all_kept(world: PermitWorld) -> None:
    case = await case_in(world, CaseState.IN_REVIEW)
    await asyncio.gather(*(world.officer(d).record_opinion(case.id, "approve") for d in ("SAMR", "FIRE", "MNR")))
    stored = await world.officer("SAMR").get_case(case.id)
    assert {o.department for o in stored.opinions} == {"SAMR", "FIRE", "MNR"}


async def test_one_rejection_rejects_and_approval_needs_everyone(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await case_in(world, CaseState.IN_REVIEW)
    case = await samr.record_opinion(case.id, "approve")
    with pytest.raises(FailedPrecondition) as pending:
        await samr.transition_case(case.id, "approve", case.version)
    assert pending.value.reason == "REVIEW_PENDING" and "FIRE" in pending.value.message
    await world.officer("MNR").record_opinion(case.id, "approve")
    case = await world.officer("FIRE").record_opinion(case.id, "reject", comment="no fire exit on the plan")
    with pytest.raises(FailedPrecondition) as differs:
        await samr.transition_case(case.id, "approve", case.version)
    assert differs.value.reason == "REVIEW_OUTCOME_DIFFERS"
    case = await samr.transition_case(case.id, "reject", case.version)
    assert case.state == "rejected"


async def test_correction_notice_is_given_once_and_not_accepted_keeps_reasons(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    case = await case_in(world, CaseState.ACCEPTED)
    case = await samr.transition_case(case.id, "request_correction", case.version, reasons=["kitchen plan", "lease"])
    assert case.correction_missing == ("kitchen plan", "lease") and case.deadline_state == "paused"
    case = await samr.transition_case(case.id, "submit_correction", case.version)
    with pytest.raises(FailedPrecondition) as twice:
        await samr.transition_case(case.id, "request_correction", case.version, reasons=["another thing"])
    assert twice.value.reason == "CORRECTION_ALREADY_REQUESTED"
    refused = await case_in(world, CaseState.NOT_ACCEPTED)
    assert refused.not_accepted_reasons == ("not a catering business",)


async def test_only_the_items_lead_department_opens_and_moves_cases(world: PermitWorld) -> None:
    with pytest.raises(PermissionDenied) as refused:
        await world.officer("FIRE").create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    assert refused.value.reason == "NOT_LEAD_DEPARTMENT"
    case = await case_in(world, CaseState.SUBMITTED)
    with pytest.raises(PermissionDenied):
        await world.officer("FIRE").transition_case(case.id, "accept", case.version)


async def test_retried_create_with_one_request_id_opens_one_case(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    first, again = await asyncio.gather(
        samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties, request_id="front-desk-0001"),
        samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties, request_id="front-desk-0001"),
    )
    assert first.id == again.id
    assert len(await samr.list_cases()) == 1
    with pytest.raises(InvalidArgument) as reused:
        await samr.create_case(ITEM, "91110105MA0000000X", request_id="front-desk-0001")
    assert reused.value.reason == "REQUEST_ID_REUSED"


async def test_opinion_on_a_stale_version_is_aborted(world: PermitWorld) -> None:
    case = await case_in(world, CaseState.IN_REVIEW)
    await world.officer("FIRE").record_opinion(case.id, "approve", expected_version=case.version)
    with pytest.raises(Aborted) as conflict:
        await world.officer("MNR").record_opinion(case.id, "approve", expected_version=case.version)
    assert "FIRE" in conflict.value.message
