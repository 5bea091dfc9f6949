"""What the Python client returns for the access log: entries, citizen reports, checkpoints, proofs and hiding
decisions, as plain dataclasses made from the wire messages here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.json_format import MessageToDict

from exchange.v1 import audit_pb2, common_pb2
from exchange.wire import from_message


@dataclass(frozen=True)
class LogEntry:
    """One access-log entry (metadata only); `record` is all of it as plain data (the JSON the CLI prints)."""

    index: int
    time_us: int
    request_id: str
    action: str
    caller_department: str
    officer_id: str
    officer_role: str
    dataset: str
    subject_id: str
    case_id: str
    service_item: str
    fields: tuple[str, ...]
    # "allow" or "deny"
    decision: str
    reason: str
    message: str
    outcome: str
    hidden_from_subject: bool
    record: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class LogPage:
    """One streamed page of a query, and the token that continues after it ("" at the end)."""

    entries: tuple[LogEntry, ...]
    next_page_token: str


@dataclass(frozen=True)
class SubjectAccess:
    """One access to a person's or organisation's data, as the citizen report shows it."""

    time_us: int
    department: str
    department_name: str
    officer_role: str
    dataset: str
    dataset_title: str
    case_id: str
    service_item: str
    decision: str
    action: str
    log_index: int


@dataclass(frozen=True)
class SubjectReport:
    subject_id: str
    accesses: tuple[SubjectAccess, ...]
    next_page_token: str
    record: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class CheckpointInfo:
    """The log's latest signed checkpoint (a C2SP signed note) and the hub's verifier key."""

    origin: str
    size: int
    root_hash: bytes
    timestamp: int
    signed_note: str
    verifier_key: str


@dataclass(frozen=True)
class HiddenAccesses:
    """Whether a department's future accesses are left out of citizen reports, and on which legal basis."""

    department: str
    hidden: bool
    legal_basis: str


def decision_text(decision: int) -> str:
    return "allow" if decision == common_pb2.DECISION_ALLOW else "deny"


def decision_to_proto(decision: str) -> common_pb2.Decision.ValueType:
    """ "allow", "deny" or "" (either) -> the wire enum."""
    return common_pb2.Decision.Value(f"DECISION_{decision.upper() if decision else 'UNSPECIFIED'}")


def entry_from_proto(e: audit_pb2.AccessLogEntry) -> LogEntry:
    record = MessageToDict(e, preserving_proto_field_name=True)
    return from_message(LogEntry, e, decision=decision_text(e.decision), record=record)


def subject_report_from_proto(r: audit_pb2.GetSubjectReportResponse) -> SubjectReport:
    return from_message(
        SubjectReport,
        r,
        accesses=tuple(from_message(SubjectAccess, a, decision=decision_text(a.decision)) for a in r.accesses),
        next_page_token=r.page.next_page_token,
        record=MessageToDict(r, preserving_proto_field_name=True),
    )


def checkpoint_from_proto(r: audit_pb2.GetCheckpointResponse) -> CheckpointInfo:
    return from_message(CheckpointInfo, r.checkpoint, verifier_key=r.verifier_key)
