"""A correction ticket (校核纠错) as the hub keeps it and the Python client returns it: plain data, no wire."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ticket:
    """A correction ticket: fields of a case material flagged to its issuer, and the issuer's answer."""

    id: str
    dataset: str
    key: str
    case_id: str
    material_version: int
    opened_by_department: str
    opened_by: str
    issuer: str
    fields: tuple[str, ...]
    reason: str
    evidence_text: str
    evidence_digest: str
    state: str
    answer: str
    answer_reason: str
    answered_by: str
    opened_at_us: int
    answer_due_us: int
    answered_at_us: int
    answered_late: bool
    notified_cases: tuple[str, ...] = ()
