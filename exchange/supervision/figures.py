"""Figures per department and per service item over a period, counted from the access log and the cases.

What the access log records is counted from it and nothing else (so a recount from the log's entries gives
the same numbers): cases opened, correction pauses, materials fetched from issuers and reused, access
requests answered and whether in time, escalations and refusals by reason. What only the case records
know is taken from them: cases finished within their limit, working days used, submissions avoided.
Warnings come from what the supervision task sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from exchange.app.case_records import StoredCase
from exchange.audit.entry import AccessLogEntry
from exchange.cases.calendar import WorkingCalendar
from exchange.cases.model import Case, finished_at
from exchange.clock import from_datetime
from exchange.storage.supervision_store import SentEvent

CREATE = "cases.create"
TRANSITION = "cases.transition"
# Operation names, and the names entries written before the one policy carry.
ATTACH = ("cases.material.attach", "cases.attach_material")
READ = ("cases.material.read", "cases.read_material")
ANSWER = "access_requests.decide"
OLD_ANSWERS = ("access_requests.approved", "access_requests.denied")
OK = ("OK", "ok")
ESCALATE = "supervision.escalate"
TICKET_OPEN, TICKET_ANSWER = "tickets.open", "tickets.answer"
DEPARTMENT, ITEM, DATASET = "department", "service_item", "dataset"


@dataclass
class FigureRow:
    """The figures of one department or one service item."""

    scope: str
    key: str
    volume: int = 0
    finished: int = 0
    finished_on_time: int = 0
    working_days_used: float = 0.0
    pauses: int = 0
    materials_fetched: int = 0
    materials_reused: int = 0
    submissions_avoided: int = 0
    requests_answered: int = 0
    requests_answered_in_time: int = 0
    escalations: int = 0
    yellow_warnings: int = 0
    red_warnings: int = 0
    # Data quality (校核纠错), on dataset rows: correction tickets opened, answered, answered within their
    # limit, and answered "corrected".
    tickets_opened: int = 0
    tickets_answered: int = 0
    tickets_answered_in_time: int = 0
    tickets_corrected: int = 0

    @property
    def on_time_rate(self) -> float:
        """Share of the cases finished in the period that finished within their limit (1.0 when none did)."""
        return self.finished_on_time / self.finished if self.finished else 1.0

    @property
    def average_working_days(self) -> float:
        """Working days from acceptance to the end, pauses left out, averaged over the finished cases."""
        return self.working_days_used / self.finished if self.finished else 0.0


@dataclass
class Figures:
    """Every row of a period, and the refusals by department and reason."""

    since_us: int
    until_us: int
    rows: dict[tuple[str, str], FigureRow] = field(default_factory=dict)
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)

    def row(self, scope: str, key: str) -> FigureRow:
        """The row of one department or service item, made on first use."""
        return self.rows.setdefault((scope, key), FigureRow(scope, key))

    def sorted_rows(self) -> list[FigureRow]:
        """Datasets, departments, then service items, each by key."""
        return [self.rows[k] for k in sorted(self.rows)]


def _both(figures: Figures, department: str, item: str) -> list[FigureRow]:
    rows = [figures.row(DEPARTMENT, department)] if department else []
    return rows + ([figures.row(ITEM, item)] if item else [])


def count_log(figures: Figures, entries: Iterable[AccessLogEntry]) -> None:
    """Add what the access log's entries (already limited to the period) say."""
    opened: set[str] = set()
    for e in entries:
        if e.decision == "deny":
            figures.refusals[(e.caller_department, e.reason)] += 1
            continue
        if e.action == CREATE and e.case_id and e.case_id not in opened:  # a retried create logs again
            opened.add(e.case_id)
            for row in _both(figures, e.caller_department, e.service_item):
                row.volume += 1
        elif e.action == TRANSITION and e.details.get("action") == "request_correction":
            for row in _both(figures, e.caller_department, e.service_item):
                row.pauses += 1
        elif e.action in ATTACH and e.details.get("upstream_call") == "false":
            for row in _both(figures, e.caller_department, e.service_item):
                row.materials_reused += 1
        elif e.action in ATTACH and e.outcome in OK:
            for row in _both(figures, e.caller_department, e.service_item):
                row.materials_fetched += 1
        elif e.action in READ:
            for row in _both(figures, e.caller_department, e.service_item):
                row.materials_reused += 1
        elif e.action == ANSWER or e.action in OLD_ANSWERS:
            row = figures.row(DEPARTMENT, e.caller_department)
            row.requests_answered += 1
            row.requests_answered_in_time += e.details.get("late") != "true"
        elif e.action == ESCALATE:
            figures.row(DEPARTMENT, e.details.get("owner", "")).escalations += 1
        elif e.action == TICKET_OPEN and e.dataset:
            figures.row(DATASET, e.dataset).tickets_opened += 1
        elif e.action == TICKET_ANSWER and e.dataset:
            row = figures.row(DATASET, e.dataset)
            row.tickets_answered += 1
            row.tickets_answered_in_time += e.details.get("late") != "true"
            row.tickets_corrected += e.details.get("answer") == "corrected"


def count_cases(figures: Figures, stored: Iterable[StoredCase], calendar: WorkingCalendar) -> None:
    """Add what only the case records know: finished within the limit, working days used, submissions avoided."""
    for s in stored:
        case = s.case
        submitted = from_datetime(case.submitted_at)
        if figures.since_us <= submitted < figures.until_us:
            for row in _both(figures, case.lead_department, case.service_item):
                row.submissions_avoided += s.savings.submissions_avoided
        ended = finished_at(case)
        if ended is None or case.deadline is None or case.accepted_at is None:
            continue
        if not figures.since_us <= from_datetime(ended) < figures.until_us:
            continue
        used = _working_days_used(case, ended, calendar)
        for row in _both(figures, case.lead_department, case.service_item):
            row.finished += 1
            row.finished_on_time += ended <= case.deadline
            row.working_days_used += used


def _working_days_used(case: Case, ended: datetime, calendar: WorkingCalendar) -> float:
    """Working days from acceptance to ``ended``, the correction pauses left out."""
    assert case.accepted_at is not None  # callers pass accepted cases only
    total = calendar.working_time_between(case.accepted_at, ended)
    for start, stop in case.paused:
        total -= calendar.working_time_between(start, stop or ended)
    return max(total, timedelta()) / timedelta(days=1)


def count_warnings(figures: Figures, sent: Iterable[SentEvent]) -> None:
    """Add the warning levels the supervision task sent in the period, against the case's lead department."""
    for s in sent:
        if s.kind != "warning":
            continue
        row = figures.row(DEPARTMENT, s.owner)
        item = figures.row(ITEM, str(s.data.get("service_item", ""))) if s.data.get("service_item") else None
        for target in [row, *([item] if item else [])]:
            if s.data.get("level") == "red":
                target.red_warnings += 1
            elif s.data.get("level") == "yellow":
                target.yellow_warnings += 1
