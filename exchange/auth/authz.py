"""Moved: the fetch rule lives in exchange.policy (exchange/policy/fetch.py); these names stay importable."""

from exchange.policy.decision import Decision
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
from exchange.policy.rules import decide_evidence_bundle

__all__ = [
    "ALL_ORDINARY_FIELDS",
    "REASON_SUBJECT_NOT_ON_CASE",
    "CaseFacts",
    "Decision",
    "FetchFacts",
    "Grant",
    "GrantStatus",
    "decide_evidence_bundle",
    "decide_fetch",
    "decide_filter_subjects",
    "decide_subject",
    "subject_columns",
    "subject_of_request",
    "subject_refusal",
]
