"""Access requests: a consumer asks the owner of a conditional dataset for a grant, stating why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AccessRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class AccessRequest:
    """What the consumer asks for, for which service items, on what legal basis, and the owner's answer."""

    id: str
    consumer: str
    dataset: str
    owner: str
    fields: tuple[str, ...]
    service_items: tuple[str, ...]
    legal_basis: str
    justification: str
    requested_by: str
    requested_at_us: int
    answer_due_us: int
    status: AccessRequestStatus = AccessRequestStatus.PENDING
    valid_until_us: int = 0
    rate_per_minute: int = 0
    decided_by: str = ""
    decided_at_us: int = 0
    decision_reason: str = ""
    grant_id: str = ""
    # Answered after answer_due_us (allowed under late_answer: allow_marked, and marked so).
    answered_late: bool = False

    def overdue_at(self, now_us: int) -> bool:
        """Still unanswered after the owner's time limit."""
        return self.status == AccessRequestStatus.PENDING and now_us > self.answer_due_us
