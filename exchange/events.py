"""What the hub tells department systems as it happens: reminders, warnings, escalations, ticket and
licence-status changes (电子监察 and 校核纠错).

Whoever notices something publishes an `Event` for the department that must hear of it; the publisher
delivers it (signed webhooks, the gRPC subscription). Events name cases, requests and tickets by id and
never carry a document's contents or a person's id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class EventKind(StrEnum):
    REMINDER = "reminder"  # a time limit is near (request or case)
    WARNING = "warning"  # a case's warning level changed (yellow: nearly overdue; red: overdue)
    ESCALATION = "escalation"  # a request's limit passed; the hub's supervisors are told
    TICKET = "ticket"  # a correction ticket was opened or answered
    LICENCE_STATUS = "licence_status"  # a licence held by an open case was revoked, suspended or renewed


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    department: str  # who is told
    reference: str  # the case, request or ticket id the event is about
    time_us: int
    data: Mapping[str, str | int] = field(default_factory=dict)


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class MemoryPublisher:
    """Keeps the newest events in memory (the default until a durable publisher is wired in; and for tests)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.events: deque[Event] = deque(maxlen=limit)

    async def publish(self, event: Event) -> None:
        self.events.append(event)
