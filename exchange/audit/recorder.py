"""The one recorder: every access-log entry is built here from (caller, operation, decision, outcome, subject).

One rule for deny (`decision_for`): a refusal by the policy is always a deny; a failure after the policy
allowed the request is an allowed request that failed. The outcome is the gRPC status name of the answer
("OK", "PERMISSION_DENIED", ...). The subject is whose data the request was about, so a refusal shows in
that person's or company's own report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.audit.entry import AccessLogEntry, Decision, decision_for
from exchange.auth.identity import Caller
from exchange.clock import now_us
from exchange.errors import ExchangeError, status_name
from exchange.policy import decide, error_for
from exchange.request_ids import current_request_id

OK = "OK"
MAX_MESSAGE = 500
MAX_SUBJECT = 256


@dataclass(frozen=True)
class Purpose:
    """What a request was for: the case and the service item it names (empty when it names none)."""

    case_id: str = ""
    service_item: str = ""


def entry_of(
    caller: Caller | None,
    operation: str,
    *,
    error: ExchangeError | None = None,
    authorised: bool = False,
    decision: Decision | None = None,
    outcome: str = "",
    subject: str = "",
    purpose: Purpose = Purpose(),
    department: str = "",
    officer_id: str = "",
    **fields: Any,
) -> AccessLogEntry:
    """The entry for `caller` asking for `operation`: allowed unless `error` refused or ended it.

    `department` and `officer_id` name an unverified caller (a refused token) when there is no `caller`.
    `decision` and `outcome` override the rule only where the operation knows better (a relay cut short).
    """
    if error is not None:
        fields.setdefault("reason", error.reason)
        fields.setdefault("message", error.message[:MAX_MESSAGE])
        subject = subject or error.metadata.get("subject_id", "")
    values: dict[str, Any] = {
        "time_us": now_us(),
        "request_id": current_request_id(),
        "action": operation,
        "caller_department": caller.department if caller else department,
        "officer_id": caller.officer_id if caller else officer_id,
        "officer_role": ",".join(sorted(r.value for r in caller.roles)) if caller else "",
        "subject_id": subject[:MAX_SUBJECT],
        "case_id": purpose.case_id[:40],
        "service_item": purpose.service_item,
        "decision": decision or ("allow" if error is None else decision_for(error, authorised=authorised)),
        "outcome": outcome or (OK if error is None else status_name(error)),
    }
    return AccessLogEntry(**{**values, **fields})


def refusal_of(caller: Caller, operation: str, **fields: Any) -> tuple[ExchangeError, AccessLogEntry] | None:
    """Decide `operation` for `caller` on the role alone (a console door, an embedded command): None when the
    policy allows it, else the error that answers the refusal and the deny entry that logs it."""
    decision = decide(caller, operation)
    if decision.allowed:
        return None
    error = error_for(decision)
    return error, entry_of(caller, operation, error=error, **fields)
