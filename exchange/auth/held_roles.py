"""Which roles a department, or one officer of it, may use: held by the hub, never proven by a token.

A department signs its own tokens, so a token's `roles` claim says only what the department asks
for. The hub records what each department holds (and, where a hub admin set one, what a single
officer holds); a token may ask for less, never more. `hub_admin`, `auditor` and `supervisor` are hub
identities: only the hub operator's own department (setting `hub_department`) can hold them,
whatever is stored, so no department key can mint them and no admin can give them away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from exchange.auth.identity import Role
from exchange.errors import FieldViolation, InvalidArgument, PermissionDenied

HUB_IDENTITIES: frozenset[Role] = frozenset({Role.HUB_ADMIN, Role.AUDITOR, Role.SUPERVISOR})
# What an ordinary department holds until a hub admin records otherwise.
DEPARTMENT_DEFAULT: frozenset[Role] = frozenset({Role.OFFICER, Role.DEPT_ADMIN})
MAX_OFFICER_ID = 128


@dataclass(frozen=True)
class RoleSet:
    """Roles a hub admin recorded for a department (officer_id empty) or for one officer of it."""

    department: str
    officer_id: str
    roles: frozenset[Role]
    set_by: str = ""
    set_at_us: int = 0


@dataclass(frozen=True)
class DepartmentRoles:
    """What a department holds: its own set (or the default) and the sets of single officers."""

    department: str
    roles: frozenset[Role]
    is_default: bool
    officers: Mapping[str, frozenset[Role]] = field(default_factory=dict)


def obtainable(department: str, hub_department: str) -> frozenset[Role]:
    """Every role `department` could ever hold: hub identities only for the hub operator's department."""
    every = frozenset(Role)
    return every if department == hub_department else every - HUB_IDENTITIES


def default_roles(department: str, hub_department: str) -> frozenset[Role]:
    """Held without any record: the hub's department holds every role, others officer and dept_admin."""
    return frozenset(Role) if department == hub_department else DEPARTMENT_DEFAULT


def department_roles(department: str, stored: Iterable[RoleSet], hub_department: str) -> DepartmentRoles:
    """The department's held roles from its stored sets (bounded by what it may obtain)."""
    bound = obtainable(department, hub_department)
    own: frozenset[Role] | None = None
    officers: dict[str, frozenset[Role]] = {}
    for role_set in stored:
        if role_set.department != department:
            continue
        if role_set.officer_id:
            officers[role_set.officer_id] = role_set.roles & bound
        else:
            own = role_set.roles & bound
    if own is None:
        return DepartmentRoles(department, default_roles(department, hub_department), True, officers)
    return DepartmentRoles(department, own, False, officers)


def held_by(held: DepartmentRoles, officer_id: str) -> frozenset[Role]:
    """An officer holds its own recorded set if a hub admin set one, else its department's."""
    return held.officers.get(officer_id, held.roles)


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names as given on the wire or the command line; unknown names are refused by name."""
    known = {r.value: r for r in Role}
    roles: set[Role] = set()
    problems: list[FieldViolation] = []
    for i, name in enumerate(names):
        role = known.get(name.strip())
        if role is None:
            problems.append(FieldViolation(f"roles[{i}]", f"{_short(name)!r} is not a role"))
        else:
            roles.add(role)
    if problems:
        raise InvalidArgument(
            f"{len(problems)} unknown role name(s); the roles are {_names(Role)}",
            reason="UNKNOWN_ROLE",
            violations=problems,
        )
    return frozenset(roles)


def check_role_set(department: str, officer_id: str, roles: frozenset[Role], hub_department: str) -> None:
    """Refuse a set that gives a hub identity outside the hub's department, or no role at all."""
    check_officer_id(officer_id)
    if not roles:
        raise InvalidArgument(
            "name at least one role (officer, dept_admin, ...); to return to the default, reset instead; "
            "to cut a department off, suspend it",
            reason="ROLES_REQUIRED",
            violations=[FieldViolation("roles", "empty")],
        )
    reserved = roles - obtainable(department, hub_department)
    if reserved:
        raise PermissionDenied(
            f"[{_names(reserved)}] are hub identities: only the hub operator department {hub_department} "
            f"holds them, so {department} cannot be given them",
            reason="HUB_ROLE_RESERVED",
        )
    if department == hub_department and not officer_id and Role.HUB_ADMIN not in roles:
        raise PermissionDenied(
            f"{hub_department} must keep hub_admin: without it no officer could administer the hub "
            "(narrow single officers with --officer instead)",
            reason="HUB_ADMIN_REQUIRED",
        )


def check_officer_id(officer_id: str) -> None:
    """An officer id as tokens carry it in `sub`: bounded like the access log's column, printable."""
    if len(officer_id) > MAX_OFFICER_ID or not officer_id.isprintable():
        raise InvalidArgument(
            f"officer_id must be at most {MAX_OFFICER_ID} printable characters",
            reason="OFFICER_ID_INVALID",
            violations=[FieldViolation("officer_id", "too long or has control characters")],
        )


def refuse_unheld(department: str, officer_id: str, asked: frozenset[Role], held: frozenset[Role]) -> None:
    """A token asking for a role its officer does not hold is refused outright (never silently narrowed)."""
    missing = asked - held
    if missing:
        raise PermissionDenied(
            f"{department} officer {_short(officer_id)} asks for roles [{_names(asked)}] but holds only "
            f"[{_names(held)}] at the hub ([{_names(missing)}] not held); mint tokens with held roles, "
            f"or ask a hub admin (`exchange departments roles {department}`)",
            reason="ROLE_NOT_HELD",
        )


def describe(roles: frozenset[Role] | None, *, default: bool = False, inherited_from: str = "") -> str:
    """A role set as the access log's change summaries say it."""
    if roles is None:
        return f"those of {inherited_from}"
    return _names(roles) + (" by default" if default else "")


def _names(roles: Iterable[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles)) or "none"


def _short(text: str, limit: int = 64) -> str:
    """Caller-chosen text, cut short and with control characters escaped, for messages."""
    shown = text[:limit].encode("unicode_escape").decode("ascii")
    return shown + ("..." if len(text) > limit else "")
