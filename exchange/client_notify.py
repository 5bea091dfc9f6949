"""What the Python client returns for notifications: events, webhooks, dead letters and case flags, as plain
dataclasses made from the wire messages here."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.case_flag import CaseFlag
from exchange.v1 import notifications_pb2
from exchange.wire import from_message

__all__ = ["CaseFlag", "DeadLetter", "EventInfo", "Webhook", "WebhookSet"]


@dataclass(frozen=True)
class EventInfo:
    """One event the hub told the department (exchange.events), with its place in the stream."""

    id: int
    kind: str
    department: str
    reference: str
    time_us: int
    data: dict[str, str]


@dataclass(frozen=True)
class Webhook:
    """Where the department's events are sent, and how they are signed (never the secret)."""

    department: str
    url: str
    scheme: str
    kinds: tuple[str, ...]
    updated_by: str
    updated_at_us: int
    # The hub's public key (scheme ed25519), which verifies deliveries.
    public_key_pem: str


@dataclass(frozen=True)
class WebhookSet:
    """A webhook just set; `secret` is the shared secret the hub made (hmac-sha256), shown this once."""

    webhook: Webhook
    secret: str


@dataclass(frozen=True)
class DeadLetter:
    """An event whose deliveries all failed."""

    event: EventInfo
    attempts: int
    last_error: str
    failed_at_us: int


def event_from_proto(e: notifications_pb2.Event) -> EventInfo:
    return from_message(EventInfo, e)


def webhook_from_proto(w: notifications_pb2.Webhook) -> Webhook:
    return from_message(Webhook, w)


def dead_letter_from_proto(d: notifications_pb2.DeadLetter) -> DeadLetter:
    return from_message(DeadLetter, d, event=event_from_proto(d.event))


def case_flag_from_proto(f: notifications_pb2.CaseFlag) -> CaseFlag:
    return from_message(CaseFlag, f)
