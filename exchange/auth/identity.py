"""Who is calling: the roles a department officer can hold and the verified caller."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

HUB_AUDIENCE_DEFAULT = "exchange-hub"


class Role(StrEnum):
    """A role carried in a token's ``roles`` claim."""

    OFFICER = "officer"
    DEPT_ADMIN = "dept_admin"
    HUB_ADMIN = "hub_admin"
    AUDITOR = "auditor"
    # 电子监察: reads figures, warnings, case time limits and the supervision report; never document contents.
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: an officer of a department, as proven by a verified token."""

    department: str
    officer_id: str
    roles: frozenset[Role]
    token_id: str
    expires_at: int

    def has(self, role: Role) -> bool:
        """Whether the caller holds ``role``."""
        return role in self.roles


# The department code of the hub's own operator (set-up code, the demo, tests).
HUB_OPERATOR = "HUB"


def system_caller(department: str = HUB_OPERATOR) -> Caller:
    """The identity of the hub's own set-up code (init, demo, tests), as a hub admin."""
    return Caller(department, "system", frozenset({Role.HUB_ADMIN}), "system", 0)


LOCAL_OPERATOR = "operator"


def local_operator(department: str = HUB_OPERATOR) -> Caller:
    """The person running an embedded command on the hub's own machine (it opens the database, not a channel):
    the hub's operator, a hub admin of the hub's department. Its commands are decided and logged as this caller."""
    return Caller(department, LOCAL_OPERATOR, frozenset({Role.HUB_ADMIN}), "local", 0)
