"""A case flag as the hub keeps it and the Python client returns it: plain data, no wire."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaseFlag:
    """A licence held by an open case whose status changed (a correction ticket's answer raises one too)."""

    case_id: str
    dataset: str
    key: str
    status_code: str
    previous_code: str
    source: str
    raised_at_us: int
