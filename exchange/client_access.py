"""What the Python client returns for grants, access requests and explanations: plain dataclasses, made
from the wire messages here (exchange.client's methods return these, never protobuf)."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.v1 import access_pb2, common_pb2
from exchange.wire import from_message


@dataclass(frozen=True)
class Grant:
    """A grant: `consumer` may read `fields` of `dataset` (for `service_items`, or any when empty)."""

    id: str
    consumer: str
    dataset: str
    fields: tuple[str, ...]
    service_items: tuple[str, ...]
    valid_from_us: int
    valid_until_us: int
    rate_per_minute: int
    # "active", "revoked", "expired"
    status: str
    granted_by: str
    access_request_id: str
    created_at_us: int
    revoked_at_us: int
    revoke_reason: str


@dataclass(frozen=True)
class AccessRequest:
    """A department's request for a grant on a conditional dataset, and its answer."""

    id: str
    consumer: str
    dataset: str
    fields: tuple[str, ...]
    service_items: tuple[str, ...]
    legal_basis: str
    justification: str
    # "pending", "approved", "denied", "withdrawn"
    status: str
    requested_by: str
    requested_at_us: int
    answer_due_us: int
    overdue: bool
    decided_by: str
    decided_at_us: int
    decision_reason: str
    grant_id: str
    valid_until_us: int
    rate_per_minute: int


@dataclass(frozen=True)
class AccessDecision:
    """The answer to an access request; `grant` is the grant it created when approved."""

    request: AccessRequest
    grant: Grant | None


@dataclass(frozen=True)
class Explanation:
    """Whether a fetch would be allowed, with the reason code, the message and the checks made in order."""

    allowed: bool
    reason: str
    message: str
    fields: tuple[str, ...]
    grant_id: str
    checks: tuple[str, ...]


def grant_from_proto(g: access_pb2.Grant) -> Grant:
    return from_message(Grant, g)


def access_request_from_proto(r: access_pb2.AccessRequest) -> AccessRequest:
    return from_message(AccessRequest, r)


def access_request_status_to_proto(status: str) -> access_pb2.AccessRequestStatus.ValueType:
    """ "pending" (or "" for any) -> the wire enum."""
    return access_pb2.AccessRequestStatus.Value(f"ACCESS_REQUEST_STATUS_{(status or 'unspecified').upper()}")


def explanation_from_proto(a: access_pb2.ExplainAccessResponse) -> Explanation:
    return from_message(Explanation, a, allowed=a.decision == common_pb2.DECISION_ALLOW)
