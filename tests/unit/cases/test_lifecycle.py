"""The case state machine, checked against the lifecycle the design describes."""

from itertools import product

import pytest

from exchange.cases.lifecycle import (
    OPEN_STATES,
    TRANSITIONS,
    CaseAction,
    CaseState,
    allowed_actions,
    is_open,
    next_state,
)
from exchange.errors import FailedPrecondition, InvalidArgument

S, A = CaseState, CaseAction

# Written out from the specification, independently of the table in the code.
SPECIFIED = {
    (S.SUBMITTED, A.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, A.NOT_ACCEPT): S.NOT_ACCEPTED,
    (S.SUBMITTED, A.REQUEST_CORRECTION): S.AWAITING_CORRECTION,
    (S.ACCEPTED, A.REQUEST_CORRECTION): S.AWAITING_CORRECTION,
    (S.IN_REVIEW, A.REQUEST_CORRECTION): S.AWAITING_CORRECTION,
    (S.AWAITING_CORRECTION, A.SUBMIT_CORRECTION): None,
    (S.ACCEPTED, A.START_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, A.APPROVE): S.APPROVED,
    (S.IN_REVIEW, A.REJECT): S.REJECTED,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, A.WITHDRAW): S.WITHDRAWN,
    (S.IN_REVIEW, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_CORRECTION, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, A.CLOSE): S.CLOSED,
    (S.REJECTED, A.CLOSE): S.CLOSED,
    (S.NOT_ACCEPTED, A.CLOSE): S.CLOSED,
    (S.WITHDRAWN, A.CLOSE): S.CLOSED,
}

ILLEGAL = [pair for pair in product(CaseState, CaseAction) if pair not in TRANSITIONS]
DIRECT = [(s, a, t) for (s, a), t in TRANSITIONS.items() if t is not None]


def test_transition_table_is_exactly_the_specified_lifecycle() -> None:
    assert TRANSITIONS == SPECIFIED


@pytest.mark.parametrize(("state", "action", "target"), DIRECT, ids=lambda v: str(v))
def test_every_legal_transition_leads_where_the_table_says(
    state: CaseState, action: CaseAction, target: CaseState
) -> None:
    assert next_state(state, action) is target


@pytest.mark.parametrize("came_from", [S.SUBMITTED, S.ACCEPTED, S.IN_REVIEW])
def test_submitting_a_correction_returns_to_the_state_it_was_requested_from(came_from: CaseState) -> None:
    paused = next_state(came_from, A.REQUEST_CORRECTION)
    assert paused is S.AWAITING_CORRECTION
    assert next_state(paused, A.SUBMIT_CORRECTION, resume_to=came_from) is came_from


@pytest.mark.parametrize("resume_to", [None, S.APPROVED, S.AWAITING_CORRECTION, S.CLOSED])
def test_submitting_a_correction_needs_a_state_a_correction_can_come_from(
    resume_to: CaseState | None,
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        next_state(S.AWAITING_CORRECTION, A.SUBMIT_CORRECTION, resume_to=resume_to)
    assert caught.value.reason == "RESUME_STATE_REQUIRED"


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=lambda v: str(v))
def test_every_action_outside_the_table_is_refused_naming_the_state(state: CaseState, action: CaseAction) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        next_state(state, action, resume_to=S.SUBMITTED)
    error = caught.value
    assert error.reason == "ILLEGAL_TRANSITION"
    assert f"case is {state}; cannot {action}" in error.message
    for allowed in allowed_actions(state):
        assert str(allowed) in error.message


def test_illegal_transition_message_lists_what_is_allowed_now() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        next_state(S.IN_REVIEW, A.ACCEPT)
    assert caught.value.message == (
        "case is in_review; cannot accept; allowed now: approve, reject, request_correction, withdraw"
    )


def test_a_closed_case_allows_nothing() -> None:
    assert allowed_actions(S.CLOSED) == ()
    with pytest.raises(FailedPrecondition, match="case is closed; cannot withdraw; no action is allowed now"):
        next_state(S.CLOSED, A.WITHDRAW)


def test_only_cases_being_handled_are_open() -> None:
    expected = {S.SUBMITTED, S.ACCEPTED, S.IN_REVIEW, S.AWAITING_CORRECTION}
    assert expected == OPEN_STATES
    assert is_open(S.AWAITING_CORRECTION)
    for finished in (S.APPROVED, S.REJECTED, S.NOT_ACCEPTED, S.WITHDRAWN, S.CLOSED):
        assert not is_open(finished)


def test_every_open_state_can_be_withdrawn_and_every_finished_one_closed() -> None:
    for state in CaseState:
        if is_open(state):
            assert A.WITHDRAW in allowed_actions(state)
        elif state is not S.CLOSED:
            assert allowed_actions(state) == (A.CLOSE,)
