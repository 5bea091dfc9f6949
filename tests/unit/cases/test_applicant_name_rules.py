"""The applicant's name on a case: stripped, bounded, no control characters, and kept in the stored record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exchange.cases.codec import case_from_json, case_to_json
from exchange.cases.model import Actor, open_case
from exchange.cases.parties import MAX_NAME_LENGTH
from exchange.errors import InvalidArgument


def _open(name: str):
    return open_case(
        case_id="c-1",
        service_item="restaurant_permit",
        applicant_id="110101199003071234",
        applicant_kind="person",
        lead_department="SAMR",
        reviewers=[],
        by=Actor("SAMR", "li"),
        now=datetime(2026, 12, 14, 2, tzinfo=UTC),
        applicant_name=name,
    )


def test_the_applicant_name_is_stripped_named_on_the_applicant_party_and_stored() -> None:
    case = _open("  王伟 ")
    assert case.applicant_name == "王伟" and case.parties[0].name == "王伟"
    assert case_from_json(case_to_json(case)).applicant_name == "王伟"


def test_a_case_stored_before_applicant_names_reads_as_unnamed() -> None:
    text = case_to_json(_open("王伟")).replace(',"applicant_name":"王伟"', "")
    assert "applicant_name" not in text and case_from_json(text).applicant_name == ""


@pytest.mark.parametrize(
    ("name", "reason"), [("王\x07伟", "PARTY_NAME_INVALID"), ("王" * (MAX_NAME_LENGTH + 1), "PARTY_NAME_TOO_LONG")]
)
def test_an_applicant_name_with_control_characters_or_too_long_is_refused(name: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _open(name)
    assert refused.value.reason == reason and refused.value.violations[0].field == "applicant.name"
