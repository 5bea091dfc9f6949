"""The authorisation decision as a table: one allow and every reason a fetch is refused."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from catalog.model import Dataset, ServiceItem
from catalog.specs import parse_dataset, parse_service_item
from catalog.yaml_io import load_spec_file
from exchange.auth.identity import Caller, Role
from exchange.policy import CaseFacts, Decision, FetchFacts, Grant, GrantStatus, decide_fetch
from exchange.ratelimit import RateLimiter
from exchange.testing import EXAMPLES

NOW = 1_800_000_000_000_000
MINUTE = 60_000_000


def _spec(kind: str, name: str, **overrides: Any) -> dict[str, Any]:
    data = load_spec_file(EXAMPLES / "catalog" / kind / f"{name}.yaml")
    return {**data["spec"], **overrides}


LICENCE: Dataset = parse_dataset(_spec("datasets", "business_licence"))
IDENTITY: Dataset = parse_dataset(_spec("datasets", "identity_record"))
CRIMINAL: Dataset = parse_dataset(_spec("datasets", "criminal_record"))
ITEM: ServiceItem = parse_service_item(_spec("service_items", "restaurant_permit"))
FIRE = Caller("FIRE", "wang.fang", frozenset({Role.OFFICER}), "jti-1", 0)
COMPANY = "91310115Y4CL12TH38"
REPRESENTATIVE = "110105195604085654"
OPEN_CASE = CaseFacts(
    "case-1",
    "restaurant_permit",
    True,
    "in_review",
    ("SAMR", "FIRE", "MNR"),
    (("applicant", COMPANY), ("legal_representative", REPRESENTATIVE)),
)
GRANT = Grant("g-1", "FIRE", "business_licence", ("*",), ("restaurant_permit",), valid_from_us=NOW - MINUTE)


def facts(**changes: Any) -> FetchFacts:
    base = FetchFacts(
        caller=FIRE,
        dataset=LICENCE,
        requested_fields=("name", "address"),
        now_us=NOW,
        case=OPEN_CASE,
        service_item=ITEM,
        subject=COMPANY,
        grants=(GRANT,),
    )
    return replace(base, **changes)


def test_open_case_with_a_live_grant_is_allowed_for_the_requested_fields() -> None:
    decision = decide_fetch(facts())
    assert decision.allowed and decision.reason == ""
    assert decision.fields == ("name", "address") and decision.grant == GRANT
    assert all(check.startswith("ok: ") for check in decision.checks)


def test_without_requested_fields_only_fields_both_granted_and_needed_by_the_item_are_returned() -> None:
    decision = decide_fetch(facts(requested_fields=()))
    assert decision.allowed
    # The wildcard covers public fields only; legal_representative is personal and the item does not need
    # registered_capital, so neither is returned.
    assert set(decision.fields) == {
        "unified_social_credit_code",
        "name",
        "address",
        "business_scope",
        "status",
        "valid_until",
        "licence_id",
    }


def test_personal_field_needs_a_grant_naming_it() -> None:
    assert decide_fetch(facts(requested_fields=("legal_representative",))).reason == "FIELD_NOT_GRANTED"
    named = replace(GRANT, fields=("*", "legal_representative"))
    decision = decide_fetch(facts(requested_fields=("legal_representative",), grants=(named,)))
    assert decision.allowed and decision.fields == ("legal_representative",)


DENIALS: list[tuple[str, dict[str, Any], str]] = [
    ("no grant", {"grants": ()}, "NO_GRANT"),
    ("expired grant", {"grants": (replace(GRANT, valid_until_us=NOW - 1),)}, "GRANT_EXPIRED"),
    ("grant not valid yet", {"grants": (replace(GRANT, valid_from_us=NOW + MINUTE),)}, "GRANT_NOT_YET_VALID"),
    ("revoked grant", {"grants": (replace(GRANT, status=GrantStatus.REVOKED),)}, "GRANT_REVOKED"),
    (
        "grant for another purpose",
        {"grants": (replace(GRANT, service_items=("other_item",)),)},
        "GRANT_NOT_FOR_PURPOSE",
    ),
    (
        "wrong department: SAMR is on the case but the grant is FIRE's",
        {"caller": replace(FIRE, department="SAMR")},
        "NO_GRANT",
    ),
    ("grant on another dataset", {"grants": (replace(GRANT, dataset="identity_record"),)}, "NO_GRANT"),
    ("case closed", {"case": replace(OPEN_CASE, is_open=False, state="closed")}, "CASE_CLOSED"),
    (
        "case not involving the caller",
        {"case": replace(OPEN_CASE, involved_departments=("SAMR", "MNR"))},
        "CASE_NOT_INVOLVING_CALLER",
    ),
    ("no case named", {"case": None, "service_item": None}, "PURPOSE_REQUIRED"),
    ("service item named differs from the case's", {"purpose_service_item": "other_item"}, "PURPOSE_MISMATCH"),
    (
        "dataset not required by the service item",
        {"service_item": replace(ITEM, required_materials=ITEM.required_materials[1:])},
        "DATASET_NOT_REQUIRED",
    ),
    ("another company's licence", {"subject": "91310115J1XG612DDT"}, "SUBJECT_NOT_ON_CASE"),
    ("ungranted field", {"grants": (replace(GRANT, fields=("name",)),)}, "FIELD_NOT_GRANTED"),
    ("field the item does not need", {"requested_fields": ("registered_capital",)}, "FIELD_NOT_GRANTED"),
    ("not_shared dataset", {"dataset": CRIMINAL, "requested_fields": ()}, "DATASET_NOT_SHARED"),
    (
        "pending access request",
        {
            "dataset": IDENTITY,
            "subject": REPRESENTATIVE,
            "requested_fields": ("name",),
            "grants": (),
            "access_request_status": "pending",
        },
        "ACCESS_REQUEST_PENDING",
    ),
    (
        "denied access request",
        {
            "dataset": IDENTITY,
            "subject": REPRESENTATIVE,
            "requested_fields": ("name",),
            "grants": (),
            "access_request_status": "denied",
        },
        "ACCESS_REQUEST_DENIED",
    ),
    (
        "conditional dataset without a request",
        {"dataset": IDENTITY, "subject": REPRESENTATIVE, "requested_fields": ("name",), "grants": ()},
        "NO_GRANT",
    ),
    ("caller without the officer role", {"caller": replace(FIRE, roles=frozenset({Role.AUDITOR}))}, "ROLE_NOT_ALLOWED"),
    ("draft dataset", {"dataset": replace(LICENCE, status=LICENCE.status.__class__("draft"))}, "DATASET_NOT_PUBLISHED"),
]


@pytest.mark.parametrize(("situation", "changes", "reason"), DENIALS, ids=[d[0] for d in DENIALS])
def test_each_denial_names_its_reason_and_explains_itself(situation: str, changes: dict[str, Any], reason: str) -> None:
    decision: Decision = decide_fetch(facts(**changes))
    assert not decision.allowed, situation
    assert decision.reason == reason
    assert decision.message and decision.fields == () and decision.grant is None
    assert decision.checks[-1] == f"denied: {decision.message}"


def test_a_revoked_grant_does_not_hide_a_live_one_for_the_same_purpose() -> None:
    revoked = replace(GRANT, id="g-0", status=GrantStatus.REVOKED)
    assert decide_fetch(facts(grants=(revoked, GRANT))).grant == GRANT


def test_not_shared_is_refused_even_with_a_grant_row() -> None:
    rogue = Grant("g-x", "FIRE", "criminal_record", ("resident_id",))
    assert decide_fetch(facts(dataset=CRIMINAL, grants=(rogue,))).reason == "DATASET_NOT_SHARED"


def test_quota_is_counted_per_grant_in_a_sliding_minute() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.allow("g-1", 2) for _ in range(3)] == [True, True, False]
    assert limiter.allow("g-2", 2), "another grant has its own quota"
    now[0] = 60.0
    assert limiter.allow("g-1", 2), "requests older than a minute no longer count"
    assert all(limiter.allow("g-3", 0) for _ in range(100)), "0 means unlimited"
