"""What the case desks share: the access-log entry of each step, refusals logged, loading a case, who may see it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.app import case_records
from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import Receipt
from exchange.audit.recorder import Purpose, entry_of
from exchange.auth.identity import Caller
from exchange.cases.model import Case
from exchange.errors import ExchangeError, FieldViolation, InvalidArgument, NotFound, quote
from exchange.policy import Facts, Thing, enforce

if TYPE_CHECKING:
    from exchange.hub import Hub
    from exchange.registry import Registry


@dataclass
class Seen:
    """The case a step had loaded when it was refused, so the refusal's log entry names its subject."""

    case: Case | None = None


class DeskBase:
    """The hub, the registry and the logging every case operation shares."""

    def __init__(self, hub: Hub, registry: Registry) -> None:
        self.hub = hub
        self.registry = registry

    # --- the access log ----------------------------------------------------------------------------

    def _entry(self, caller: Caller, action: str, case: Case | None, case_id: str, **extra: Any) -> AccessLogEntry:
        subject = extra.pop("subject_id", case.applicant_id if case else "")
        return entry_of(caller, action, subject=subject, purpose=_purpose(case, case_id), **extra)

    async def _log(self, caller: Caller, action: str, case: Case | None, case_id: str, **extra: Any) -> Receipt:
        return await self.hub.record(self._entry(caller, action, case, case_id, **extra))

    @contextlib.asynccontextmanager
    async def _refusals(self, caller: Caller, action: str, case_id: str, dataset: str = "") -> AsyncIterator[Seen]:
        """Log a refusal (with its reason) of the step inside, then let it reach the caller."""
        seen = Seen()
        try:
            yield seen
        except ExchangeError as error:
            # A refusal about someone's data is filed under that person, so it shows in their own report.
            subject = error.metadata.get("subject_id") or (seen.case.applicant_id if seen.case else "")
            await self.hub.record(
                entry_of(
                    caller,
                    action,
                    error=error,
                    subject=subject,
                    purpose=_purpose(seen.case, case_id),
                    dataset=dataset[:64],
                )
            )
            raise

    # --- loading and visibility ---------------------------------------------------------------------

    async def _load(self, case_id: str) -> Case:
        async with self.hub.db.read() as conn:
            return await self._load_in(conn, case_id)

    async def _load_in(self, conn: AsyncConnection, case_id: str) -> Case:
        """The case, or NotFound; on a connection the caller goes on using."""
        if not case_id:
            raise InvalidArgument(
                "name the case (its id)", reason="MISSING_FIELD", violations=[FieldViolation("id", "required")]
            )
        case = await case_records.get_case(conn, case_id[:40])
        if case is None:
            raise NotFound(f"no case {quote(case_id)}", reason="CASE_NOT_FOUND", metadata={"case": case_id[:40]})
        return case

    def _require_involved(self, caller: Caller, case: Case, operation: str) -> None:
        """The policy's involvement rule for `operation` on `case` (auditors and hub admins read any)."""
        facts = Facts(parties=tuple(case.involved_departments), what=Thing("case", case.id))
        enforce(caller, operation, facts, case=case.id, department=caller.department)


def _purpose(case: Case | None, case_id: str) -> Purpose:
    return Purpose(case_id[:40], case.service_item if case else "")
