"""The one recorder: each entry from (caller, operation, decision, outcome, subject, purpose), one rule for deny."""

from __future__ import annotations

import pytest

from exchange.audit.recorder import Purpose, entry_of
from exchange.auth.identity import Caller, Role
from exchange.errors import (
    DataLoss,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

FIRE = Caller("FIRE", "wang.fang", frozenset({Role.OFFICER, Role.DEPT_ADMIN}), "jti", 0)


def test_an_allowed_operation_is_stamped_with_the_caller_the_purpose_and_outcome_ok() -> None:
    entry = entry_of(FIRE, "cases.material.read", subject="110101199003074514", purpose=Purpose("c-1", "permit"))
    assert (entry.action, entry.caller_department, entry.officer_id, entry.officer_role) == (
        "cases.material.read",
        "FIRE",
        "wang.fang",
        "dept_admin,officer",
    )
    assert (entry.decision, entry.outcome, entry.reason, entry.subject_id) == ("allow", "OK", "", "110101199003074514")
    assert (entry.case_id, entry.service_item) == ("c-1", "permit")
    assert entry.time_us > 0 and len(entry.request_id) == 32
    assert entry_of(FIRE, "a").request_id != entry_of(FIRE, "a").request_id


@pytest.mark.parametrize(
    ("error", "authorised", "decision", "outcome"),
    [
        (PermissionDenied("no", reason="NOT_OWNER"), False, "deny", "PERMISSION_DENIED"),
        (PermissionDenied("no", reason="SUBJECT_NOT_ON_CASE"), True, "deny", "PERMISSION_DENIED"),
        (Unauthenticated("no", reason="TOKEN_EXPIRED"), False, "deny", "UNAUTHENTICATED"),
        (InvalidArgument("bad", reason="VALUE_TOO_LONG"), False, "deny", "INVALID_ARGUMENT"),
        (NotFound("none", reason="CASE_NOT_FOUND"), False, "deny", "NOT_FOUND"),
        (FailedPrecondition("late", reason="ACCESS_REQUEST_DECIDED"), False, "allow", "FAILED_PRECONDITION"),
        (Unavailable("down", reason="ADAPTER_UNAVAILABLE"), True, "allow", "UNAVAILABLE"),
        (DataLoss("forged", reason="ISSUER_SIGNATURE_INVALID"), True, "allow", "DATA_LOSS"),
    ],
)
def test_one_rule_for_deny_and_the_status_name_as_outcome(error, authorised, decision, outcome) -> None:
    entry = entry_of(FIRE, "exchange.fetch", error=error, authorised=authorised)
    assert (entry.decision, entry.outcome, entry.reason, entry.message) == (
        decision,
        outcome,
        error.reason,
        error.message,
    )


def test_a_refusal_is_filed_under_the_person_the_rule_refused_for() -> None:
    refused = PermissionDenied(
        "not a party", reason="SUBJECT_NOT_ON_CASE", metadata={"subject_id": "110105198405060031"}
    )
    entry = entry_of(FIRE, "exchange.scan", error=refused, subject="91110105MA01XXXXX0")
    assert entry.subject_id == "91110105MA01XXXXX0"  # the caller named whose data it is: that wins
    assert entry_of(FIRE, "exchange.scan", error=refused).subject_id == "110105198405060031"


def test_an_unverified_caller_is_named_by_what_the_transport_says() -> None:
    entry = entry_of(
        None, "catalog.dataset.list", error=Unauthenticated("x", reason="TOKEN_MISSING"), department="SAMR"
    )
    assert (entry.caller_department, entry.officer_id, entry.officer_role, entry.decision) == ("SAMR", "", "", "deny")
