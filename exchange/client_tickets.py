"""What the Python client returns for correction tickets (校核纠错), as plain dataclasses made from the wire."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.v1 import tickets_pb2


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
    notified_cases: tuple[str, ...]


def ticket_from_proto(t: tickets_pb2.Ticket) -> Ticket:
    return Ticket(
        id=t.id,
        dataset=t.dataset,
        key=t.key,
        case_id=t.case_id,
        material_version=t.material_version,
        opened_by_department=t.opened_by_department,
        opened_by=t.opened_by,
        issuer=t.issuer,
        fields=tuple(t.fields),
        reason=t.reason,
        evidence_text=t.evidence_text,
        evidence_digest=t.evidence_digest,
        state=t.state,
        answer=t.answer,
        answer_reason=t.answer_reason,
        answered_by=t.answered_by,
        opened_at_us=t.opened_at_us,
        answer_due_us=t.answer_due_us,
        answered_at_us=t.answered_at_us,
        answered_late=t.answered_late,
        notified_cases=tuple(t.notified_cases),
    )
