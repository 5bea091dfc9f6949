"""The parties of a case: the applicant always, the others validated, added only while the case is open."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.identifiers import generate_resident_id, generate_uscc
from exchange.cases.codec import case_from_json, case_to_json
from exchange.cases.lifecycle import CaseState
from exchange.cases.model import Actor, Case, add_party, open_case
from exchange.cases.parties import MAX_PARTIES, OTHER_RELATIONS, CaseParty, PartyInput, PartyKind, make_party
from exchange.errors import FailedPrecondition, InvalidArgument, PermissionDenied

NOW = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
LEAD = Actor("SAMR", "li.wei")
COMPANY = "91310115Y4CL12TH38"
PERSON = "110105195604085654"


def opened(*parties: CaseParty, applicant: str = COMPANY, kind: str = "organisation") -> Case:
    return open_case(
        case_id="c-1",
        service_item="restaurant_permit",
        applicant_id=applicant,
        applicant_kind=kind,
        lead_department="SAMR",
        reviewers=["FIRE"],
        by=LEAD,
        now=NOW,
        parties=parties,
    )


@given(
    seed=st.integers(0, 2**32),
    count=st.integers(0, MAX_PARTIES - 1),
    applicant_is_person=st.booleans(),
)
def test_the_applicant_is_always_the_first_party_whatever_else_is_listed(
    seed: int, count: int, applicant_is_person: bool
) -> None:
    rng = random.Random(seed)
    applicant = generate_resident_id(rng) if applicant_is_person else generate_uscc(rng)
    kind: PartyKind = "person" if applicant_is_person else "organisation"
    others = {
        (relation, pid): make_party(relation, pid)
        for relation, pid in (
            (rng.choice(OTHER_RELATIONS[:-1]), rng.choice([generate_resident_id(rng), generate_uscc(rng), applicant]))
            for _ in range(count)
        )
    }
    case = opened(*others.values(), applicant=applicant, kind=kind)
    assert case.parties[0] == CaseParty("applicant", applicant, kind)
    assert [p.relation for p in case.parties].count("applicant") == 1
    assert case_from_json(case_to_json(case)).parties == case.parties


def test_a_party_is_validated_like_a_key_and_its_kind_follows_from_the_identifier() -> None:
    assert make_party("legal_representative", PERSON.lower()[:-1] + PERSON[-1]).kind == "person"
    assert make_party("premises_owner", COMPANY, name="房东公司") == CaseParty(
        "premises_owner", COMPANY, "organisation", "房东公司"
    )
    for relation, pid, kind, reason in [
        ("applicant", COMPANY, "", "APPLICANT_IS_ALREADY_A_PARTY"),
        ("cousin", PERSON, "", "UNKNOWN_PARTY_RELATION"),
        ("spouse", "110105195604085655", "", "MALFORMED_PARTY_ID"),
        ("spouse", COMPANY, "person", "MALFORMED_KEY"),
        ("spouse", PERSON, "robot", "UNKNOWN_PARTY_KIND"),
        ("spouse", "", "", "MISSING_FIELD"),
        ("other", PERSON, "", "MISSING_FIELD"),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            PartyInput(relation, pid, kind).validated()
        assert caught.value.reason == reason, (relation, pid, kind)
    with pytest.raises(InvalidArgument):
        make_party("spouse", PERSON, name="x\x00y")


def test_a_party_in_the_same_relation_twice_is_refused_but_one_person_may_hold_two_relations() -> None:
    case = opened(make_party("legal_representative", PERSON), make_party("premises_owner", PERSON))
    assert [p.relation for p in case.parties] == ["applicant", "legal_representative", "premises_owner"]
    with pytest.raises(InvalidArgument) as caught:
        add_party(case, LEAD, NOW, make_party("legal_representative", PERSON))
    assert caught.value.reason == "PARTY_ALREADY_ON_CASE"


def test_parties_are_added_by_a_department_on_the_case_while_it_is_open() -> None:
    case = opened()
    added = add_party(case, Actor("FIRE", "wang.fang"), NOW, make_party("spouse", PERSON, name="王芳"))
    assert added.version == case.version + 1 and added.parties[-1].relation == "spouse"
    assert added.events[-1].kind == "party_added" and PERSON not in added.events[-1].detail
    with pytest.raises(PermissionDenied):
        add_party(case, Actor("MNR", "zhao"), NOW, make_party("spouse", PERSON))
    with pytest.raises(FailedPrecondition):
        add_party(Case(**{**case.__dict__, "state": CaseState.CLOSED}), LEAD, NOW, make_party("spouse", PERSON))
