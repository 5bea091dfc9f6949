"""The policy's rules, decided without a hub: the role, then the scope, then the sharing type; default deny."""

from __future__ import annotations

import pytest

from exchange.auth.identity import Caller, Role
from exchange.errors import NotFound, PermissionDenied
from exchange.policy import (
    NOT_FOUND,
    OPERATIONS,
    Facts,
    Scope,
    Thing,
    decide,
    decide_involvement,
    enforce,
    enforce_list_scope,
    sees_all,
    table_markdown,
)
from exchange.policy.operations import allowed_roles


def _caller(department: str, *roles: Role) -> Caller:
    return Caller(department, "o-1", frozenset(roles), "t", 0)


SAMR_ADMIN = _caller("SAMR", Role.DEPT_ADMIN)
PSB_ADMIN = _caller("PSB", Role.DEPT_ADMIN)
HUB = _caller("HUB", Role.HUB_ADMIN)
AUDITOR = _caller("HUB", Role.AUDITOR)
OFFICER = _caller("SAMR", Role.OFFICER)


def test_an_operation_missing_from_the_table_is_refused_to_every_role() -> None:
    decision = decide(_caller("HUB", *Role), "catalog.dataset.delete")
    assert (decision.allowed, decision.reason, decision.status) == (False, "OPERATION_UNKNOWN", "PERMISSION_DENIED")
    assert allowed_roles("catalog.dataset.delete") == frozenset()


@pytest.mark.parametrize("name", sorted(OPERATIONS))
@pytest.mark.parametrize("role", list(Role))
def test_the_role_step_follows_the_table(name: str, role: Role) -> None:
    decision = decide(_caller("SAMR", role), name)
    assert decision.allowed == (role in OPERATIONS[name].roles)
    if not decision.allowed:
        assert decision.reason == "ROLE_NOT_ALLOWED" and "needs one of the roles" in decision.message
        assert role.value in decision.message


def test_a_department_admin_changes_only_its_own_department_a_hub_admin_any() -> None:
    facts = Facts(department="PSB", what="dataset psb.resident_identity")
    refused = decide(SAMR_ADMIN, "catalog.dataset.register", facts)
    assert (refused.allowed, refused.reason) == (False, "NOT_OWNER")
    assert refused.message == (
        "dataset psb.resident_identity belongs to PSB; only that department or the roles [hub_admin] may do "
        "this (catalog.dataset.register); you act for SAMR"
    )
    assert decide(PSB_ADMIN, "catalog.dataset.register", facts).allowed
    assert decide(HUB, "catalog.dataset.register", facts).allowed
    # Auditors read every department's roles but change nothing.
    assert decide(AUDITOR, "departments.roles.read", Facts(department="PSB")).allowed
    assert not decide(AUDITOR, "departments.key.add", Facts(department="PSB")).allowed


def test_hidden_things_are_refused_as_not_found() -> None:
    facts = Facts(parties=("PSB", "MNR"), what="grant g-1")
    refused = decide(SAMR_ADMIN, "grants.read", facts)
    assert (refused.reason, refused.status) == ("GRANT_NOT_FOUND", NOT_FOUND)
    with pytest.raises(NotFound):
        enforce(SAMR_ADMIN, "grants.read", facts)
    assert decide(PSB_ADMIN, "grants.read", facts).allowed
    assert decide(AUDITOR, "grants.read", facts).allowed


def test_only_the_owners_department_admin_answers_an_access_request_never_the_hub_operator() -> None:
    facts = Facts(department="PSB", what="psb.resident_identity")
    assert decide(PSB_ADMIN, "access_requests.decide", facts).allowed
    for caller in (HUB, SAMR_ADMIN):
        refused = decide(caller, "access_requests.decide", facts)
        assert (refused.allowed, refused.reason) == (False, "NOT_OWNER")


def test_a_case_is_worked_only_by_the_departments_involved() -> None:
    facts = Facts(parties=("SAMR", "FIRE"), what=Thing("case", "c-1"))
    assert decide(OFFICER, "cases.transition", facts).allowed
    refused = decide(_caller("MNR", Role.OFFICER), "cases.transition", facts)
    assert (refused.reason, refused.message) == (
        "NOT_INVOLVED",
        "MNR is not involved in case c-1 (involved: SAMR, FIRE)",
    )
    with pytest.raises(PermissionDenied):
        enforce(_caller("MNR", Role.OFFICER), "cases.transition", facts)
    # Auditors read any case, but never transition one.
    assert decide(AUDITOR, "cases.read", facts).allowed
    assert not decide(AUDITOR, "cases.transition", facts).allowed


def test_the_involvement_rule_answers_a_department_as_it_answers_a_caller_of_that_department() -> None:
    facts = Facts(parties=("SAMR", "FIRE"), what=Thing("case", "c-1"))
    for_caller = decide(_caller("MNR", Role.OFFICER), "cases.opinion", facts)
    for_department = decide_involvement("MNR", ("SAMR", "FIRE"), Thing("case", "c-1"))
    assert (for_department.allowed, for_department.reason, for_department.message) == (
        False,
        for_caller.reason,
        for_caller.message,
    )
    assert decide_involvement("FIRE", ("SAMR", "FIRE"), Thing("case", "c-1")).allowed
    assert not decide_involvement("", ("SAMR", ""), Thing("case", "c-1")).allowed


def test_a_list_is_narrowed_to_the_callers_department_unless_the_caller_oversees_every_department() -> None:
    assert enforce_list_scope(PSB_ADMIN, "grants.list") == "PSB"
    assert enforce_list_scope(AUDITOR, "grants.list") == ""
    assert enforce_list_scope(HUB, "access_requests.list") == ""
    assert enforce_list_scope(OFFICER, "tickets.list") == "SAMR"
    with pytest.raises(PermissionDenied) as refused:
        enforce_list_scope(OFFICER, "grants.list")
    assert refused.value.reason == "ROLE_NOT_ALLOWED"


def test_not_shared_data_is_never_granted_nor_requested() -> None:
    facts = Facts(department="SAMR", what="dataset x", sharing_type="not_shared", legal_basis="Law 7")
    for name in ("grants.create", "access_requests.create"):
        refused = decide(SAMR_ADMIN, name, facts)
        assert (refused.reason, refused.message) == (
            "DATASET_NOT_SHARED",
            "dataset x is not_shared (Law 7); it can never be granted",
        )
    assert decide(SAMR_ADMIN, "grants.create", Facts(department="SAMR", sharing_type="unconditional")).allowed


def test_an_empty_party_matches_nobody() -> None:
    assert not decide(_caller("", Role.OFFICER), "audit.evidence_bundle.read", Facts(parties=("", "PSB"))).allowed


def test_lists_are_narrowed_unless_the_role_sees_all() -> None:
    assert sees_all(AUDITOR, "grants.list") and sees_all(HUB, "access_requests.list")
    assert not sees_all(SAMR_ADMIN, "grants.list") and not sees_all(AUDITOR, "no.such.operation")


def test_every_scoped_operation_says_who_passes_its_scope() -> None:
    for op in OPERATIONS.values():
        assert op.sees_all <= op.roles, f"{op.name}: a role that sees all but may not ask"
        if op.hidden:
            assert op.scope in (Scope.PARTY, Scope.INVOLVED, Scope.OWN_DEPARTMENT)


def test_the_table_in_markdown_has_one_row_per_operation() -> None:
    lines = table_markdown().split("\n")
    head = "| operation | officer | dept_admin | hub_admin | auditor | supervisor | scope | any department |"
    assert lines[0] == head
    assert "| `exchange.fetch` | yes |  |  |  |  | fetch |  |" in lines
    assert "| `grants.read` |  | yes | yes | yes |  | party | hub_admin, auditor |" in lines
    assert "| `supervision.figures.read` |  |  | yes | yes | yes | any |  |" in lines
    assert len(lines) == len(OPERATIONS) + 3 and lines[-1] == ""
