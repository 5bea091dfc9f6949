"""Parallel review: one opinion per involved department, and what they add up to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

ReviewOutcome = Literal["approved", "rejected", "pending", "more_requested"]


class Verdict(StrEnum):
    """One department's opinion on a case."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_MORE = "request_more"


@dataclass(frozen=True)
class Opinion:
    """A department's recorded review opinion, by the officer who gave it."""

    department: str
    officer: str
    verdict: Verdict
    comment: str
    at: datetime


def review_outcome(involved: Sequence[str], opinions: Mapping[str, Opinion]) -> ReviewOutcome:
    """Rejected if anyone rejected, else more_requested if anyone asked, else approved once all approved."""
    verdicts = [opinions[d].verdict for d in involved if d in opinions]
    if Verdict.REJECT in verdicts:
        return "rejected"
    if Verdict.REQUEST_MORE in verdicts:
        return "more_requested"
    if involved and len(verdicts) == len(involved):
        return "approved"
    return "pending"


def awaiting_opinion(involved: Sequence[str], opinions: Mapping[str, Opinion]) -> tuple[str, ...]:
    """Involved departments that have not given an opinion yet."""
    return tuple(d for d in involved if d not in opinions)
