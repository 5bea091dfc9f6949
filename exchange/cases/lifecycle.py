"""The case state machine: which action is allowed in which state, and where it leads."""

from __future__ import annotations

from enum import StrEnum

from exchange.errors import FailedPrecondition, InvalidArgument


class CaseState(StrEnum):
    """Where an application stands."""

    SUBMITTED = "submitted"
    AWAITING_CORRECTION = "awaiting_correction"
    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_ACCEPTED = "not_accepted"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


class CaseAction(StrEnum):
    """What a department can do to a case."""

    ACCEPT = "accept"
    NOT_ACCEPT = "not_accept"
    REQUEST_CORRECTION = "request_correction"
    SUBMIT_CORRECTION = "submit_correction"
    START_REVIEW = "start_review"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    CLOSE = "close"


_S, _A = CaseState, CaseAction

# The whole state machine. A target of None means "back to the state the case was in
# when the correction was requested" (the caller passes it as resume_to).
TRANSITIONS: dict[tuple[CaseState, CaseAction], CaseState | None] = {
    (_S.SUBMITTED, _A.ACCEPT): _S.ACCEPTED,
    (_S.SUBMITTED, _A.NOT_ACCEPT): _S.NOT_ACCEPTED,
    (_S.SUBMITTED, _A.REQUEST_CORRECTION): _S.AWAITING_CORRECTION,
    (_S.SUBMITTED, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.AWAITING_CORRECTION, _A.SUBMIT_CORRECTION): None,
    (_S.AWAITING_CORRECTION, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.ACCEPTED, _A.REQUEST_CORRECTION): _S.AWAITING_CORRECTION,
    (_S.ACCEPTED, _A.START_REVIEW): _S.IN_REVIEW,
    (_S.ACCEPTED, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.IN_REVIEW, _A.REQUEST_CORRECTION): _S.AWAITING_CORRECTION,
    (_S.IN_REVIEW, _A.APPROVE): _S.APPROVED,
    (_S.IN_REVIEW, _A.REJECT): _S.REJECTED,
    (_S.IN_REVIEW, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.APPROVED, _A.CLOSE): _S.CLOSED,
    (_S.REJECTED, _A.CLOSE): _S.CLOSED,
    (_S.NOT_ACCEPTED, _A.CLOSE): _S.CLOSED,
    (_S.WITHDRAWN, _A.CLOSE): _S.CLOSED,
}

# A case is open (materials may be fetched for it) only in these states.
OPEN_STATES: frozenset[CaseState] = frozenset({_S.SUBMITTED, _S.ACCEPTED, _S.IN_REVIEW, _S.AWAITING_CORRECTION})

# States a correction can be requested from, hence the states it can resume to.
CORRECTABLE_STATES: frozenset[CaseState] = frozenset(
    state for (state, action) in TRANSITIONS if action is _A.REQUEST_CORRECTION
)


def is_open(state: CaseState) -> bool:
    """Whether a case in ``state`` is still being handled."""
    return state in OPEN_STATES


def allowed_actions(state: CaseState) -> tuple[CaseAction, ...]:
    """The actions allowed in ``state``, alphabetically."""
    return tuple(sorted((a for (s, a) in TRANSITIONS if s is state), key=str))


def next_state(state: CaseState, action: CaseAction, *, resume_to: CaseState | None = None) -> CaseState:
    """The state ``action`` leads to from ``state``; FailedPrecondition if it is not allowed there."""
    if (state, action) not in TRANSITIONS:
        allowed = allowed_actions(state)
        now = f"allowed now: {', '.join(allowed)}" if allowed else "no action is allowed now"
        raise FailedPrecondition(
            f"case is {state}; cannot {action}; {now}",
            reason="ILLEGAL_TRANSITION",
            metadata={"state": str(state), "action": str(action)},
        )
    target = TRANSITIONS[(state, action)]
    if target is not None:
        return target
    if resume_to not in CORRECTABLE_STATES:
        expected = ", ".join(sorted(CORRECTABLE_STATES))
        raise InvalidArgument(
            f"{action} needs the state the correction was requested from (one of {expected}); got {resume_to}",
            reason="RESUME_STATE_REQUIRED",
        )
    assert resume_to is not None  # narrowed by the membership test above
    return resume_to
