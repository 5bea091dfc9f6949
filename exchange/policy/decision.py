"""A decision and the trail of checks that led to it: what every rule of the policy returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exchange.policy.fetch import Grant

# The gRPC status names a refusal can carry (the recorder logs them as the entry's outcome).
PERMISSION_DENIED = "PERMISSION_DENIED"
NOT_FOUND = "NOT_FOUND"
OK = "OK"


@dataclass(frozen=True)
class Decision:
    """Allowed or not, the reason code of a refusal, a sentence for people and every check made, in order."""

    allowed: bool
    reason: str = ""
    message: str = ""
    fields: tuple[str, ...] = ()
    grant: Grant | None = None
    checks: tuple[str, ...] = ()
    # Whose data a refusal is about, when the rule that refused knows it better than the request does.
    subject: str = ""
    # How a refusal is answered: PERMISSION_DENIED, or NOT_FOUND where the thing is hidden from the caller.
    refusal_status: str = PERMISSION_DENIED
    # The refusal's sentence key and the values it names (exchange.policy.sentences), for each reader's language.
    message_key: str = ""
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def status(self) -> str:
        """The gRPC status name of the answer: OK when allowed."""
        return OK if self.allowed else self.refusal_status


@dataclass
class Trail:
    """The checks made so far; `deny` closes the trail with a refusal."""

    checks: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.checks.append(f"ok: {text}")

    def allow(self) -> Decision:
        return Decision(True, "", "allowed", checks=tuple(self.checks))

    def deny(
        self,
        reason: str,
        message: str,
        subject: str = "",
        status: str = PERMISSION_DENIED,
        *,
        message_key: str = "",
        values: Mapping[str, str] | None = None,
    ) -> Decision:
        self.checks.append(f"denied: {message}")
        return Decision(
            False,
            reason,
            message,
            checks=tuple(self.checks),
            subject=subject,
            refusal_status=status,
            message_key=message_key,
            values=MappingProxyType(dict(values or {})),
        )
