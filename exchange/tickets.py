"""Correction tickets (校核纠错): a receiving department flags fields of a document it holds; the issuer answers.

An officer of a case opens a ticket on a material the case holds (fields, reason, evidence); it goes to the
dataset's owner with `ticket_answer_working_days` working days to answer. The owner's department admin
answers corrected, no_error or cannot_correct, with a reason; an answer after the limit is accepted and
marked late. A "corrected" answer flags every open case holding the document (a case flag, status
"corrected", source "ticket") and tells each case's departments (`EventKind.TICKET`), who refresh the
material from the issuer (a new version in the case). Opening, answering, reading and each case told are
written to the access log, under the subject whose data it is.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from exchange.app import case_records
from exchange.audit.entry import AccessLogEntry
from exchange.audit.recorder import Purpose, entry_of
from exchange.auth.identity import Caller
from exchange.cases.desk_base import DeskBase
from exchange.errors import ExchangeError, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, quote
from exchange.events import Event, EventKind
from exchange.policy import Facts, Thing, decide, enforce, enforce_list_scope, error_for
from exchange.storage import status_store, ticket_store
from exchange.storage.ticket_store import ANSWERED, OPEN, StoredTicket

if TYPE_CHECKING:
    from exchange.hub import Hub
    from exchange.registry import Registry

Ticket = StoredTicket

# The case flag a correction raises (case_flags.status_code) and where it came from (case_flags.source).
CORRECTED_FLAG = "corrected"
TICKET_SOURCE = "ticket"
_DIGEST = re.compile(r"^(sha256:)?([0-9a-f]{64})$")


class Answer(StrEnum):
    CORRECTED = "corrected"
    NO_ERROR = "no_error"
    CANNOT_CORRECT = "cannot_correct"


class TicketDesk(DeskBase):
    """OpenTicket, GetTicket, ListTickets and AnswerTicket."""

    def __init__(self, hub: Hub, registry: Registry) -> None:
        super().__init__(hub, registry)

    async def open(
        self,
        caller: Caller,
        case_id: str,
        dataset: str,
        fields: list[str],
        reason: str,
        evidence_text: str = "",
        evidence_digest: str = "",
    ) -> Ticket:
        async with self._refusals(caller, "tickets.open", case_id, dataset) as seen:
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "tickets.open")
            async with self.hub.db.read() as conn:
                material = await case_records.get_material(conn, case.id, dataset)
            if material is None:
                raise NotFound(
                    f"case {case.id} holds no {quote(dataset)}; a ticket is opened on a material the case holds",
                    reason="MATERIAL_NOT_HELD",
                    metadata={"case": case.id},
                )
            problems: list[FieldViolation] = []
            if not fields:
                problems.append(FieldViolation("fields", "name at least one field you believe wrong"))
            for i, name in enumerate(fields):
                if name not in material.fields:
                    problems.append(FieldViolation(f"fields[{i}]", f"{name[:64]} is not a field of the material held"))
            if not reason.strip():
                problems.append(FieldViolation("reason", "say what is wrong or out of date"))
            digest = _DIGEST.match(evidence_digest.strip().lower()) if evidence_digest else None
            if evidence_digest and digest is None:
                problems.append(FieldViolation("evidence_digest", "sha256:<64 hex digits>"))
            if problems:
                raise InvalidArgument(
                    f"the correction ticket on {dataset} is incomplete",
                    reason="INVALID_TICKET",
                    violations=problems,
                    metadata={"subject_id": material.subject_id or case.applicant_id},
                )
            ds = await self.registry.current_dataset(dataset)
            now = self.hub.clock()
            start = datetime.fromtimestamp(now / 1e6, UTC)
            due = self.hub.calendar.add_working_days(start, self.hub.settings.ticket_answer_working_days)
            ticket = StoredTicket(
                id=f"tk-{uuid.uuid4().hex[:16]}",
                dataset=dataset,
                key=material.key,
                subject_id=(material.subject_id or case.applicant_id)[:256],
                case_id=case.id,
                material_version=material.version,
                opened_by_department=caller.department,
                opened_by=f"{caller.department}/{caller.officer_id}",
                issuer=ds.owner,
                fields=tuple(dict.fromkeys(fields)),
                reason=reason.strip()[:2000],
                evidence_text=evidence_text.strip()[:2000],
                evidence_digest=digest.group(2) if digest else "",
                state=OPEN,
                answer="",
                answer_reason="",
                answered_by="",
                opened_at_us=now,
                answer_due_us=int(due.timestamp() * 1e6),
                answered_at_us=0,
                answered_late=False,
            )
            async with self.hub.db.begin() as conn:
                await ticket_store.insert(conn, ticket)
        await self._record(caller, "tickets.open", ticket, reason="TICKET_OPENED", fields=",".join(ticket.fields))
        data: dict[str, str | int] = {"dataset": dataset, "state": OPEN, "answer_due_us": ticket.answer_due_us}
        await self.hub.events.publish(Event(EventKind.TICKET, ticket.issuer, ticket.id, now, data))
        return ticket

    async def get(self, caller: Caller, ticket_id: str) -> Ticket:
        """One ticket, its read logged; NOT_FOUND for a caller who may not know it exists."""
        ticket = await self._visible(caller, ticket_id, "tickets.read")
        await self._record(caller, "tickets.read", ticket)
        return ticket

    async def list(self, caller: Caller, *, dataset: str = "", state: str = "", role: str = "") -> list[Ticket]:
        """Tickets the caller's department opened or must answer (auditors and hub admins: all)."""
        department = enforce_list_scope(caller, "tickets.list")
        async with self.hub.db.read() as conn:
            found = await ticket_store.list_tickets(
                conn,
                department=department if role not in ("opened", "to_answer") else "",
                opened_by=department if role == "opened" else "",
                issuer=department if role == "to_answer" else "",
                dataset=dataset,
                state=state,
            )
        await self.hub.record(
            entry_of(
                caller,
                "tickets.list",
                dataset=dataset[:64],
                details={"count": str(len(found)), "role": role[:16], "state": state[:16]},
            )
        )
        return found

    async def answer(self, caller: Caller, ticket_id: str, answer: str, reason: str) -> Ticket:
        """The issuer's department admin answers; "corrected" tells every open case holding the document."""
        ticket = await self._visible(caller, ticket_id, "tickets.answer")
        try:
            enforce(caller, "tickets.answer", Facts(department=ticket.issuer, what=Thing("ticket", ticket.id)))
            if answer not in {a.value for a in Answer}:
                raise InvalidArgument(
                    f"unknown answer {quote(answer)}; one of corrected, no_error, cannot_correct",
                    reason="TICKET_ANSWER_UNKNOWN",
                    violations=[FieldViolation("answer", "corrected, no_error or cannot_correct")],
                )
            if not reason.strip():
                raise InvalidArgument(
                    "an answer must give its reason, so the department that asked can act on it",
                    reason="REASON_REQUIRED",
                    violations=[FieldViolation("reason", "required")],
                )
            if ticket.state != OPEN:
                raise FailedPrecondition(
                    f"ticket {ticket.id} was already answered ({ticket.answer})", reason="TICKET_ANSWERED"
                )
        except ExchangeError as error:
            await self.hub.record(self._ticket_entry(caller, "tickets.answer", ticket, error=error))
            raise
        now = self.hub.clock()
        answered = replace(
            ticket,
            state=ANSWERED,
            answer=answer,
            answer_reason=reason.strip()[:2000],
            answered_by=f"{caller.department}/{caller.officer_id}",
            answered_at_us=now,
            answered_late=now > ticket.answer_due_us,
        )
        held: list[status_store.HeldLicence] = []
        async with self.hub.db.begin() as conn:
            if answer == Answer.CORRECTED:
                flag = case_records.CaseFlag(CORRECTED_FLAG, "", TICKET_SOURCE, now)
                held = await case_records.flag_open_cases_holding(conn, ticket.dataset, ticket.key, flag)
                answered = replace(answered, notified_cases=tuple(h.case_id for h in held))
            if not await ticket_store.answer(conn, answered):
                raise FailedPrecondition(
                    f"ticket {ticket.id} was answered by someone else just now", reason="TICKET_ANSWERED"
                )
        await self._record(
            caller,
            "tickets.answer",
            answered,
            reason="TICKET_ANSWERED_LATE" if answered.answered_late else "",
            answer=answer,
            late="true" if answered.answered_late else "false",
        )
        data = {"dataset": ticket.dataset, "state": ANSWERED, "answer": answer}
        await self.hub.events.publish(Event(EventKind.TICKET, ticket.opened_by_department, ticket.id, now, data))
        for licence in held:
            await self.hub.record(
                entry_of(
                    caller,
                    "tickets.case_notified",
                    subject=ticket.subject_id,
                    purpose=Purpose(case_id=licence.case_id),
                    time_us=now,
                    dataset=ticket.dataset,
                    reason="TICKET_CORRECTED",
                    message=f"ticket {ticket.id}: {ticket.dataset} corrected by its issuer; the case is flagged",
                    details={"ticket": ticket.id},
                )
            )
            for told in licence.departments:
                told_data = {"dataset": ticket.dataset, "ticket": ticket.id, "answer": answer, "state": ANSWERED}
                await self.hub.events.publish(Event(EventKind.TICKET, told, licence.case_id, now, told_data))
        return answered

    # --- helpers -----------------------------------------------------------------------------------

    async def _visible(self, caller: Caller, ticket_id: str, operation: str) -> Ticket:
        async with self.hub.db.read() as conn:
            ticket = await ticket_store.get(conn, ticket_id[:40])
        missing = NotFound(f"no ticket {quote(ticket_id)} that you may see", reason="TICKET_NOT_FOUND")
        if ticket is None:
            await self.hub.record(entry_of(caller, operation, error=missing, details={"ticket": ticket_id[:40]}))
            raise missing
        decision = decide(
            caller,
            "tickets.read",
            Facts(parties=(ticket.opened_by_department, ticket.issuer), what=Thing("ticket", ticket.id)),
        )
        if not decision.allowed:
            error = missing if decision.reason == missing.reason else error_for(decision)
            await self.hub.record(self._ticket_entry(caller, operation, ticket, error=error))
            raise error
        return ticket

    def _ticket_entry(
        self,
        caller: Caller,
        action: str,
        ticket: Ticket,
        *,
        error: ExchangeError | None = None,
        reason: str = "",
        details: dict[str, str] | None = None,
    ) -> AccessLogEntry:
        entry = entry_of(
            caller,
            action,
            error=error,
            subject=ticket.subject_id,
            purpose=Purpose(ticket.case_id),
            dataset=ticket.dataset,
            details={"ticket": ticket.id, **{k: v for k, v in (details or {}).items() if v}},
        )
        return replace(entry, reason=reason) if reason else entry

    async def _record(self, caller: Caller, action: str, ticket: Ticket, reason: str = "", **details: str) -> None:
        await self.hub.record(self._ticket_entry(caller, action, ticket, reason=reason, details=details))
