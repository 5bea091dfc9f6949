"""Approval cases: the lifecycle state machine, the working-day calendar, parallel review, the case.

`desk.CaseDesk` and `material_desk.MaterialDesk` run them against storage, the once-only
fetch and the access log (the CaseService calls them); `materials` holds the material-set
rules and `codec` the stored record.
"""

from exchange.cases.calendar import WorkingCalendar, load_calendar, parse_calendar
from exchange.cases.lifecycle import (
    OPEN_STATES,
    TRANSITIONS,
    CaseAction,
    CaseState,
    allowed_actions,
    is_open,
    next_state,
)
from exchange.cases.model import (
    Actor,
    Case,
    CaseEvent,
    CorrectionNotice,
    DeadlineStatus,
    accept,
    check_version,
    close,
    deadline_status,
    decide,
    not_accept,
    open_case,
    record_opinion,
    request_correction,
    start_review,
    submit_correction,
    withdraw,
)
from exchange.cases.review import Opinion, Verdict, review_outcome

__all__ = [
    "OPEN_STATES",
    "TRANSITIONS",
    "Actor",
    "Case",
    "CaseAction",
    "CaseEvent",
    "CaseState",
    "CorrectionNotice",
    "DeadlineStatus",
    "Opinion",
    "Verdict",
    "WorkingCalendar",
    "accept",
    "allowed_actions",
    "check_version",
    "close",
    "deadline_status",
    "decide",
    "is_open",
    "load_calendar",
    "next_state",
    "not_accept",
    "open_case",
    "parse_calendar",
    "record_opinion",
    "request_correction",
    "review_outcome",
    "start_review",
    "submit_correction",
    "withdraw",
]
