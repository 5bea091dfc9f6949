"""A scope refusal carries its sentence (key and values): English in the message, any language at the edge."""

from __future__ import annotations

import pytest

from exchange.auth.identity import Caller, Role
from exchange.error_text import localized_text, translated_for_people
from exchange.errors import NotFound, PermissionDenied
from exchange.policy import Facts, Thing, decide, error_for


def _caller(department: str, *roles: Role) -> Caller:
    return Caller(department, "o-1", frozenset(roles), "t", 0)


def _refusal(caller: Caller, operation: str, facts: Facts) -> PermissionDenied | NotFound:
    decision = decide(caller, operation, facts)
    assert not decision.allowed
    error = error_for(decision)
    assert isinstance(error, PermissionDenied | NotFound)
    return error


def test_an_officer_outside_a_case_is_told_in_chinese_who_is_involved() -> None:
    facts = Facts(parties=("SAMR", "PSB"), what=Thing("case", "c-1"))
    error = _refusal(_caller("MNR", Role.OFFICER), "cases.opinion", facts)
    assert error.message == "MNR is not involved in case c-1 (involved: SAMR, PSB)"
    assert localized_text(error, "zh-CN") == "MNR 未参与办件 c-1（参与部门：SAMR, PSB）。"
    assert localized_text(error, "en") == error.message


def test_a_stranger_to_a_grant_is_told_which_roles_may_see_it_in_chinese_names() -> None:
    facts = Facts(parties=("SAMR", "PSB"), what=Thing("grant", "g-7"))
    error = _refusal(_caller("MNR", Role.DEPT_ADMIN), "grants.read", facts)
    assert isinstance(error, NotFound)  # hidden: the caller may not learn that it exists
    assert "only its parties or the roles [hub_admin, auditor]" in error.message
    assert localized_text(error, "zh-CN") == (
        "MNR 不是授权 g-7 的当事方；只有其当事方或平台管理员、审计员可以执行此操作（grants.read）。"
    )


def test_the_owner_admin_rule_names_the_owner_in_chinese() -> None:
    facts = Facts(department="PSB", what=Thing("dataset", "identity_record"))
    error = _refusal(_caller("HUB", Role.HUB_ADMIN), "access_requests.decide", facts)
    assert translated_for_people(error, "zh-CN") == (
        "数据资源 identity_record 属于 PSB；只有该部门的部门管理员可以执行此操作（access_requests.decide）；"
        "您代表 HUB。"
    )


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_refusal_about_free_text_falls_back_to_its_reason_text(language: str) -> None:
    error = _refusal(_caller("PSB", Role.DEPT_ADMIN), "catalog.dataset.register", Facts(department="SAMR", what="x"))
    generic = "只有该数据资源提供部门的部门管理员或平台管理员可以执行此操作。"
    assert localized_text(error, language) == (generic if language == "zh-CN" else error.message)


@pytest.mark.parametrize(
    ("kind", "said"),
    [("dataset", "数据资源 d-1 的当事方"), ("case", "办件 d-1 的当事方"), ("ticket", "纠错单 d-1 的当事方")],
)
def test_a_no_party_refusal_reads_naturally_in_chinese(kind: str, said: str) -> None:
    facts = Facts(parties=("SAMR",), what=Thing(kind, "d-1"))
    error = _refusal(_caller("MNR", Role.DEPT_ADMIN), "grants.read", facts)
    assert said in localized_text(error, "zh-CN")
