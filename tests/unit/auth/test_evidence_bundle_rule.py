"""Who may have an entry's evidence bundle: auditors, hub admins, and the two parties to the entry."""

from __future__ import annotations

import pytest

from exchange.auth.identity import Caller, Role
from exchange.policy import decide_evidence_bundle


def _caller(department: str, *roles: Role) -> Caller:
    return Caller(department, "o-1", frozenset(roles or (Role.OFFICER,)), "t", 0)


@pytest.mark.parametrize(("entry_department", "owner"), [("AAA", "ZZZ"), ("ZZZ", "AAA")])
@pytest.mark.parametrize("other", ["AAB", "ZZY", "MMM", ""])
def test_a_department_that_is_neither_party_is_refused_whatever_the_sort_order(entry_department, owner, other):
    decision = decide_evidence_bundle(_caller(other, Role.OFFICER, Role.DEPT_ADMIN), entry_department, owner)
    assert not decision.allowed and decision.reason == "NOT_PARTY_TO_ENTRY"
    assert other in decision.message


@pytest.mark.parametrize(("entry_department", "owner"), [("AAA", "ZZZ"), ("ZZZ", "AAA")])
def test_each_party_may_have_it(entry_department, owner):
    assert decide_evidence_bundle(_caller(entry_department), entry_department, owner).allowed
    assert decide_evidence_bundle(_caller(owner), entry_department, owner).allowed


def test_an_empty_party_matches_nobody():
    assert not decide_evidence_bundle(_caller(""), "SAMR", "").allowed
    assert not decide_evidence_bundle(_caller(""), "", "PSB").allowed


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.HUB_ADMIN])
def test_auditors_and_hub_admins_may_have_any(role):
    decision = decide_evidence_bundle(_caller("HUB", role), "SAMR", "PSB")
    assert decision.allowed and any("caller holds" in check for check in decision.checks)
