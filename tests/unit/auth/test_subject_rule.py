"""Purpose binding includes the subject: a case reads data about its parties and nobody else."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from catalog.model import Dataset, ServiceItem
from catalog.specs import parse_dataset, parse_service_item
from catalog.yaml_io import load_spec_file
from exchange.auth.identity import Caller, Role
from exchange.policy import (
    CaseFacts,
    FetchFacts,
    Grant,
    decide_fetch,
    decide_filter_subjects,
    decide_subject,
    subject_of_request,
)
from exchange.testing import EXAMPLES

NOW = 1_800_000_000_000_000
COMPANY = "91310115Y4CL12TH38"
OTHER_COMPANY = "91310115J1XG612DDT"
REPRESENTATIVE = "110105195604085654"
STRANGER = "11010519880201579X"


def _spec(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = load_spec_file(EXAMPLES / "catalog" / kind / f"{name}.yaml")["spec"]
    return spec


LICENCE: Dataset = parse_dataset(_spec("datasets", "business_licence"))
IDENTITY: Dataset = parse_dataset(_spec("datasets", "identity_record"))
PROPERTY: Dataset = parse_dataset(_spec("datasets", "property_certificate"))
REGISTER: Dataset = parse_dataset(_spec("datasets", "enterprise_register"))
ITEM: ServiceItem = parse_service_item(_spec("service_items", "restaurant_permit"))
FIRE = Caller("FIRE", "wang.fang", frozenset({Role.OFFICER}), "jti-1", 0)
GRANT = Grant("g-1", "FIRE", "business_licence", ("*",), ("restaurant_permit",))
OPEN_CASE = CaseFacts(
    "case-1",
    "restaurant_permit",
    True,
    "in_review",
    ("SAMR", "FIRE", "MNR"),
    (("applicant", COMPANY), ("legal_representative", REPRESENTATIVE)),
)
# A table keyed by a personal identity: filtering it by id picks people out.
RESIDENTS: Dataset = parse_dataset(
    {
        "code": "resident_register",
        "title": "Resident register (bulk)",
        "owner": "PSB",
        "kind": "table",
        "key_field": "resident_id",
        "key_format": "resident_id",
        "sharing_type": "unconditional",
        "update_frequency": "daily",
        "schema": {
            "fields": [
                {"name": "resident_id", "type": "string", "required": True, "sensitivity": "sensitive"},
                {"name": "district", "type": "string", "required": True, "sensitivity": "internal"},
            ]
        },
    }
)


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


def case_of(applicant: str, *others: tuple[str, str]) -> CaseFacts:
    return replace(OPEN_CASE, parties=(("applicant", applicant), *others))


@pytest.mark.parametrize(("applicant", "other"), [(COMPANY, OTHER_COMPANY), (OTHER_COMPANY, COMPANY)])
def test_another_companys_licence_is_refused_under_a_case_whatever_the_order_of_ids(applicant: str, other: str) -> None:
    case = case_of(applicant)
    assert decide_fetch(facts(case=case, subject=applicant)).allowed
    refused = decide_fetch(facts(case=case, subject=other))
    assert not refused.allowed and refused.reason == "SUBJECT_NOT_ON_CASE"
    assert refused.grant is None and refused.fields == ()


@pytest.mark.parametrize(("party", "stranger"), [(REPRESENTATIVE, STRANGER), (STRANGER, REPRESENTATIVE)])
def test_an_identity_record_is_read_only_for_a_party_with_its_relation(party: str, stranger: str) -> None:
    case = case_of(COMPANY, ("legal_representative", party))
    identity: dict[str, Any] = {"dataset": IDENTITY, "requested_fields": ("name",), "case": case}
    grant = replace(GRANT, dataset="identity_record", fields=("resident_id", "name"))
    allowed = decide_fetch(facts(subject=party, grants=(grant,), **identity))
    assert allowed.allowed
    assert "ok: the subject is the case's legal_representative" in allowed.checks
    assert decide_fetch(facts(subject=stranger, grants=(grant,), **identity)).reason == "SUBJECT_NOT_ON_CASE"


def test_the_refusal_names_the_case_and_its_relations_but_never_the_identifier_asked_for() -> None:
    long_key = "1" * 5000
    decision = decide_fetch(facts(case=case_of(COMPANY, ("spouse", REPRESENTATIVE)), subject=long_key))
    assert decision.reason == "SUBJECT_NOT_ON_CASE"
    assert "case-1" in decision.message and "applicant, spouse" in decision.message
    assert long_key[:18] not in decision.message and len(decision.message) < 300


def test_identifiers_compare_without_regard_to_case_and_surrounding_space() -> None:
    case = case_of(COMPANY, ("legal_representative", STRANGER))
    assert decide_subject(case, IDENTITY, STRANGER.lower()).allowed
    assert decide_subject(case, LICENCE, f" {COMPANY} ").allowed


def test_a_case_with_no_parties_reads_nobodys_data() -> None:
    assert decide_fetch(facts(case=replace(OPEN_CASE, parties=()), subject=COMPANY)).reason == "SUBJECT_NOT_ON_CASE"
    assert not decide_subject(OPEN_CASE, LICENCE, "").allowed


def test_where_the_document_names_the_subject_the_request_is_decided_then_the_document_is() -> None:
    assert subject_of_request(PROPERTY, "any-licence-id") is None
    assert subject_of_request(LICENCE, COMPANY) == COMPANY
    allowed = decide_fetch(facts(subject=None))
    assert allowed.allowed and any("names no subject" in c for c in allowed.checks)
    case = case_of(COMPANY, ("premises_owner", REPRESENTATIVE))
    assert decide_subject(case, PROPERTY, REPRESENTATIVE).allowed
    refused = decide_subject(case, PROPERTY, STRANGER)
    assert refused.reason == "SUBJECT_NOT_ON_CASE" and refused.checks[-1] == f"denied: {refused.message}"


def test_a_dataset_without_a_subject_is_not_bound() -> None:
    anonymous = replace(LICENCE, subject_field=None)
    assert subject_of_request(anonymous, "X") == ""
    assert decide_subject(OPEN_CASE, anonymous, "").allowed


FILTERS: list[tuple[str, list[tuple[str, str, tuple[object, ...]]], str, str]] = [
    ("one party", [("resident_id", "=", (REPRESENTATIVE,))], "", ""),
    ("parties only", [("resident_id", "in", (REPRESENTATIVE, COMPANY))], "", ""),
    ("a stranger", [("resident_id", "=", (STRANGER,))], "SUBJECT_NOT_ON_CASE", STRANGER),
    ("a stranger among parties", [("resident_id", "in", (REPRESENTATIVE, STRANGER))], "SUBJECT_NOT_ON_CASE", STRANGER),
    ("everyone but a party", [("resident_id", "!=", (REPRESENTATIVE,))], "SUBJECT_NOT_ON_CASE", ""),
    ("a range of ids", [("resident_id", ">", ("1",))], "SUBJECT_NOT_ON_CASE", ""),
    ("a column that names nobody", [("district", "=", ("110105",))], "", ""),
]


@pytest.mark.parametrize(("situation", "conditions", "reason", "subject"), FILTERS, ids=[f[0] for f in FILTERS])
def test_a_scan_filter_on_a_personal_identity_column_names_parties_only(
    situation: str, conditions: list[tuple[str, str, tuple[object, ...]]], reason: str, subject: str
) -> None:
    decision = decide_filter_subjects(OPEN_CASE, RESIDENTS, conditions)
    assert decision.reason == reason, situation
    assert decision.allowed == (reason == "")
    assert decision.subject == subject


def test_a_public_identity_column_is_not_a_personal_filter() -> None:
    # The enterprise register lists every company publicly: filtering it by USCC singles out no person.
    assert decide_filter_subjects(OPEN_CASE, REGISTER, [("unified_social_credit_code", "=", (STRANGER,))]).allowed
