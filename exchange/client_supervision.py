"""What the Python client returns for supervision (电子监察): figures, warnings, escalations and reports, as
plain dataclasses made from the wire messages here."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.v1 import supervision_pb2
from exchange.wire import from_message


@dataclass(frozen=True)
class FigureRow:
    """The figures of one department or service item (`scope`) named `key`, over a period."""

    scope: str
    key: str
    volume: int
    finished: int
    finished_on_time: int
    on_time_rate: float
    average_working_days: float
    pauses: int
    materials_fetched: int
    materials_reused: int
    submissions_avoided: int
    requests_answered: int
    requests_answered_in_time: int
    escalations: int
    yellow_warnings: int
    red_warnings: int
    # Data quality (校核纠错), on "dataset" rows.
    tickets_opened: int = 0
    tickets_answered: int = 0
    tickets_answered_in_time: int = 0
    tickets_corrected: int = 0


@dataclass(frozen=True)
class RefusalCount:
    department: str
    reason: str
    count: int


@dataclass(frozen=True)
class Figures:
    """Figures per department and service item over [since_us, until_us), and the refusals counted."""

    since_us: int
    until_us: int
    rows: tuple[FigureRow, ...]
    refusals: tuple[RefusalCount, ...]


@dataclass(frozen=True)
class SupervisionReport:
    """A weekly or monthly report: its name, its figures, and the CSV and PDF files' bytes."""

    name: str
    figures: Figures
    csv: bytes
    pdf: bytes


@dataclass(frozen=True)
class CaseWarningInfo:
    """An open case with a warning level (yellow: nearly overdue; red: overdue)."""

    case_id: str
    service_item: str
    lead_department: str
    level: str
    deadline_us: int
    working_days_left: float


@dataclass(frozen=True)
class EscalationInfo:
    """An access request whose limit passed unanswered, escalated to the hub's supervisors."""

    request_id: str
    owner: str
    consumer: str
    dataset: str
    answer_due_us: int
    escalated_at_us: int


def figures_from_proto(f: supervision_pb2.Figures) -> Figures:
    return from_message(
        Figures,
        f,
        rows=tuple(from_message(FigureRow, r) for r in f.rows),
        refusals=tuple(from_message(RefusalCount, r) for r in f.refusals),
    )


def report_from_proto(r: supervision_pb2.GetReportResponse) -> SupervisionReport:
    return from_message(SupervisionReport, r, figures=figures_from_proto(r.figures))
