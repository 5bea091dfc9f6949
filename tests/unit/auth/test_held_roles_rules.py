"""The held-roles rules, message by message and at their edges (written against `make mutation`'s survivors)."""

from __future__ import annotations

import pytest

from exchange.auth.held_roles import (
    MAX_OFFICER_ID,
    DepartmentRoles,
    RoleSet,
    check_officer_id,
    check_role_set,
    department_roles,
    describe,
    parse_roles,
    refuse_unheld,
)
from exchange.auth.identity import Role
from exchange.errors import FieldViolation, InvalidArgument, PermissionDenied

OFFICER, DEPT_ADMIN, HUB_ADMIN, AUDITOR = Role.OFFICER, Role.DEPT_ADMIN, Role.HUB_ADMIN, Role.AUDITOR


def test_an_officer_id_at_the_limit_is_accepted_and_one_past_it_refused_with_the_whole_message() -> None:
    check_officer_id("o" * MAX_OFFICER_ID)
    with pytest.raises(InvalidArgument) as refused:
        check_officer_id("o" * (MAX_OFFICER_ID + 1))
    assert refused.value.message == f"officer_id must be at most {MAX_OFFICER_ID} printable characters"
    assert refused.value.reason == "OFFICER_ID_INVALID"
    assert list(refused.value.violations) == [FieldViolation("officer_id", "too long or has control characters")]


def test_an_officer_id_with_a_control_character_is_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_officer_id("li\x00wei")
    assert refused.value.reason == "OFFICER_ID_INVALID"


def test_an_empty_role_set_is_refused_with_what_to_do_instead() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_role_set("FIRE", "", frozenset(), "HUB")
    assert refused.value.message == (
        "name at least one role (officer, dept_admin, ...); to return to the default, reset instead; "
        "to cut a department off, suspend it"
    )
    assert refused.value.reason == "ROLES_REQUIRED"
    assert list(refused.value.violations) == [FieldViolation("roles", "empty")]


@pytest.mark.parametrize("department", ["AAA", "ZZZ"])  # both sort orders against the hub's code
def test_a_hub_identity_outside_the_hub_department_is_refused_naming_both(department: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        check_role_set(department, "", frozenset({OFFICER, AUDITOR, HUB_ADMIN}), "HUB")
    assert refused.value.message == (
        f"[auditor, hub_admin] are hub identities: only the hub operator department HUB holds them, "
        f"so {department} cannot be given them"
    )
    assert refused.value.reason == "HUB_ROLE_RESERVED"


def test_the_hub_department_keeps_hub_admin_for_itself_but_may_narrow_one_officer() -> None:
    with pytest.raises(PermissionDenied) as refused:
        check_role_set("HUB", "", frozenset({AUDITOR}), "HUB")
    assert refused.value.message == (
        "HUB must keep hub_admin: without it no officer could administer the hub "
        "(narrow single officers with --officer instead)"
    )
    assert refused.value.reason == "HUB_ADMIN_REQUIRED"
    check_role_set("HUB", "audrey", frozenset({AUDITOR}), "HUB")


def test_unknown_role_names_are_each_named_with_the_list_of_roles() -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_roles(["officer", "god", " dept_admin ", "x" * 100])
    assert refused.value.message == (
        "2 unknown role name(s); the roles are auditor, dept_admin, hub_admin, officer, supervisor"
    )
    assert refused.value.reason == "UNKNOWN_ROLE"
    assert list(refused.value.violations) == [
        FieldViolation("roles[1]", "'god' is not a role"),
        FieldViolation("roles[3]", f"'{'x' * 64}...' is not a role"),
    ]


def test_a_role_name_of_exactly_the_shown_length_is_quoted_whole_and_control_characters_escaped() -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_roles(["y" * 64, "a\nb"])
    assert [v.description for v in refused.value.violations] == [
        f"'{'y' * 64}' is not a role",
        "'a\\\\nb' is not a role",
    ]


def test_stored_sets_of_other_departments_are_skipped_not_the_end_of_the_list() -> None:
    stored = [
        RoleSet("MNR", "", frozenset({DEPT_ADMIN})),
        RoleSet("FIRE", "", frozenset({OFFICER})),
        RoleSet("FIRE", "wang", frozenset({DEPT_ADMIN, AUDITOR})),
    ]
    held = department_roles("FIRE", stored, "HUB")
    assert held == DepartmentRoles("FIRE", frozenset({OFFICER}), False, {"wang": frozenset({DEPT_ADMIN})})


def test_without_a_stored_set_the_default_is_held_and_officers_keep_theirs() -> None:
    stored = [RoleSet("FIRE", "wang", frozenset({OFFICER}))]
    held = department_roles("FIRE", stored, "HUB")
    assert held == DepartmentRoles("FIRE", frozenset({OFFICER, DEPT_ADMIN}), True, {"wang": frozenset({OFFICER})})


def test_describe_says_none_default_and_inherited() -> None:
    assert describe(frozenset()) == "none"
    assert describe(frozenset({OFFICER, DEPT_ADMIN})) == "dept_admin, officer"
    assert describe(frozenset({OFFICER}), default=True) == "officer by default"
    assert describe(None, inherited_from="FIRE") == "those of FIRE"


def test_an_unheld_role_is_refused_naming_what_was_asked_held_and_missing() -> None:
    with pytest.raises(PermissionDenied) as refused:
        refuse_unheld("FIRE", "mallory", frozenset({OFFICER, HUB_ADMIN}), frozenset({OFFICER}))
    assert refused.value.message == (
        "FIRE officer mallory asks for roles [hub_admin, officer] but holds only [officer] at the hub "
        "([hub_admin] not held); mint tokens with held roles, or ask a hub admin "
        "(`exchange departments roles FIRE`)"
    )
    refuse_unheld("FIRE", "li", frozenset({OFFICER}), frozenset({OFFICER, DEPT_ADMIN}))
