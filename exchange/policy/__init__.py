"""The policy: every access decision of the hub, in one place, pure (no I/O, no protobuf, no storage).

`OPERATIONS` names each thing a caller can do, in our domain's words, with its rule; `decide` turns
(caller, operation, facts) into a `Decision` with a reason and a trail. The fetch rule (`decide_fetch`),
the subject rule and the scan filter-column rule are the operations' finer rules. The edges map their
doors (gRPC method paths, console routes) onto operation names; the domain services decide with facts.
"""

from exchange.policy.decision import NOT_FOUND, OK, PERMISSION_DENIED, Decision, Trail
from exchange.policy.enforce import enforce, enforce_list_scope, error_for
from exchange.policy.fetch import (
    ALL_ORDINARY_FIELDS,
    REASON_SUBJECT_NOT_ON_CASE,
    CaseFacts,
    FetchFacts,
    Grant,
    GrantStatus,
    decide_fetch,
    decide_filter_subjects,
    decide_subject,
    subject_columns,
    subject_of_request,
    subject_refusal,
)
from exchange.policy.operations import OPERATIONS, Operation, Scope, allowed_roles, operation, table_markdown
from exchange.policy.rules import Facts, decide, decide_evidence_bundle, decide_involvement, sees_all
from exchange.policy.sentences import Thing

__all__ = [
    "ALL_ORDINARY_FIELDS",
    "NOT_FOUND",
    "OK",
    "OPERATIONS",
    "PERMISSION_DENIED",
    "REASON_SUBJECT_NOT_ON_CASE",
    "CaseFacts",
    "Decision",
    "Facts",
    "FetchFacts",
    "Grant",
    "GrantStatus",
    "Operation",
    "Scope",
    "Thing",
    "Trail",
    "allowed_roles",
    "decide",
    "decide_evidence_bundle",
    "decide_fetch",
    "decide_filter_subjects",
    "decide_involvement",
    "decide_subject",
    "enforce",
    "enforce_list_scope",
    "error_for",
    "operation",
    "sees_all",
    "subject_columns",
    "subject_of_request",
    "subject_refusal",
    "table_markdown",
]
