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
