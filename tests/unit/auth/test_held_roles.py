"""The held-roles rules on their own: defaults, bounds, officer sets and the refusals' words."""

from __future__ import annotations

import pytest

from exchange.auth.held_roles import (
    DEPARTMENT_DEFAULT,
    RoleSet,
    check_role_set,
    department_roles,
    held_by,
    parse_roles,
    refuse_unheld,
)
from exchange.auth.identity import Role
from exchange.errors import InvalidArgument, PermissionDenied

OFFICER, DEPT_ADMIN, HUB_ADMIN, AUDITOR = Role.OFFICER, Role.DEPT_ADMIN, Role.HUB_ADMIN, Role.AUDITOR


def test_without_a_record_the_hub_department_holds_every_role_and_others_officer_and_dept_admin() -> None:
    assert department_roles("HUB", (), "HUB").roles == frozenset(Role)
    fire = department_roles("FIRE", (), "HUB")
    assert fire.roles == DEPARTMENT_DEFAULT == {OFFICER, DEPT_ADMIN} and fire.is_default


def test_a_stored_hub_identity_outside_the_hub_department_does_not_count() -> None:
    stored = [RoleSet("FIRE", "", frozenset({OFFICER, HUB_ADMIN})), RoleSet("FIRE", "mallory", frozenset({AUDITOR}))]
    fire = department_roles("FIRE", stored, "HUB")
    assert fire.roles == {OFFICER} and held_by(fire, "mallory") == frozenset()
    # The same records count for the department that is the hub's.
    assert department_roles("FIRE", stored, "FIRE").roles == {OFFICER, HUB_ADMIN}


def test_an_officer_set_replaces_the_departments_for_that_officer_only() -> None:
    stored = [RoleSet("FIRE", "", frozenset({OFFICER})), RoleSet("FIRE", "chief", frozenset({OFFICER, DEPT_ADMIN}))]
    fire = department_roles("FIRE", stored, "HUB")
    assert held_by(fire, "chief") == {OFFICER, DEPT_ADMIN} and held_by(fire, "li") == {OFFICER}
    assert not fire.is_default


@pytest.mark.parametrize(
    ("department", "officer", "roles", "reason"),
    [
        ("FIRE", "", {OFFICER, AUDITOR}, "HUB_ROLE_RESERVED"),
        ("FIRE", "chief", {HUB_ADMIN}, "HUB_ROLE_RESERVED"),
        ("FIRE", "", set(), "ROLES_REQUIRED"),
        ("HUB", "", {AUDITOR, OFFICER}, "HUB_ADMIN_REQUIRED"),
        ("FIRE", "x" * 129, {OFFICER}, "OFFICER_ID_INVALID"),
        ("FIRE", "li\x00", {OFFICER}, "OFFICER_ID_INVALID"),
    ],
)
def test_role_sets_refused(department: str, officer: str, roles: set[Role], reason: str) -> None:
    with pytest.raises((PermissionDenied, InvalidArgument)) as caught:
        check_role_set(department, officer, frozenset(roles), "HUB")
    assert caught.value.reason == reason


def test_role_sets_accepted() -> None:
    check_role_set("FIRE", "", frozenset({OFFICER}), "HUB")
    check_role_set("HUB", "", frozenset({HUB_ADMIN}), "HUB")
    # A single hub officer may be narrowed below hub_admin: the department keeps it.
    check_role_set("HUB", "intern", frozenset({AUDITOR}), "HUB")


def test_a_role_not_held_is_refused_naming_what_was_asked_and_what_is_held() -> None:
    refuse_unheld("FIRE", "li", frozenset({OFFICER}), DEPARTMENT_DEFAULT)
    with pytest.raises(PermissionDenied) as caught:
        refuse_unheld("FIRE", "li\n" + "x" * 500, frozenset({OFFICER, HUB_ADMIN}), DEPARTMENT_DEFAULT)
    message = caught.value.message
    assert caught.value.reason == "ROLE_NOT_HELD"
    assert "asks for roles [hub_admin, officer]" in message and "holds only [dept_admin, officer]" in message
    assert "\n" not in message and len(message) < 400


def test_unknown_role_names_are_refused_by_position() -> None:
    assert parse_roles([" officer", "dept_admin"]) == {OFFICER, DEPT_ADMIN}
    with pytest.raises(InvalidArgument) as caught:
        parse_roles(["officer", "root"])
    assert caught.value.reason == "UNKNOWN_ROLE" and [v.field for v in caught.value.violations] == ["roles[1]"]
