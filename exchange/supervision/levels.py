"""Where a case or an access request stands against its time limit, for supervision (pure functions)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from exchange.auth.access_requests import AccessRequest, AccessRequestStatus
from exchange.cases.calendar import WorkingCalendar
from exchange.cases.model import Case, deadline_status
from exchange.clock import to_datetime


class WarningLevel(StrEnum):
    """The 红黄牌 of a case: yellow when nearly overdue, red when overdue."""

    NONE = "none"
    YELLOW = "yellow"
    RED = "red"


def warning_level(case: Case, now: datetime, calendar: WorkingCalendar, yellow_days: int) -> WarningLevel:
    """Red once an open case's deadline has passed; yellow within ``yellow_days`` working days of it."""
    status = deadline_status(case, now, calendar)
    if status.state in ("finished", "not_started"):
        return WarningLevel.NONE
    if status.state == "overdue" or status.working_days_left < 0:
        return WarningLevel.RED
    # Under one working day left is always nearly overdue (the service centres' rule), whatever the setting.
    if status.state == "nearly_overdue" or status.working_days_left < yellow_days:
        return WarningLevel.YELLOW
    return WarningLevel.NONE


def case_reminder_due(case: Case, now: datetime, calendar: WorkingCalendar, reminder_days: int) -> bool:
    """An open, running case within ``reminder_days`` working days of its deadline, not yet past it."""
    status = deadline_status(case, now, calendar)
    return status.state in ("on_time", "nearly_overdue") and status.working_days_left <= reminder_days


def request_reminder_due(request: AccessRequest, now_us: int, calendar: WorkingCalendar, reminder_days: int) -> bool:
    """A pending request within ``reminder_days`` working days of its answer's limit, not yet past it."""
    if request.status != AccessRequestStatus.PENDING or request.overdue_at(now_us):
        return False
    left = calendar.working_days_left(to_datetime(now_us), to_datetime(request.answer_due_us))
    return left <= reminder_days


def request_escalation_due(request: AccessRequest, now_us: int) -> bool:
    """A request still unanswered after its limit: the hub's supervisors are told."""
    return request.overdue_at(now_us)
