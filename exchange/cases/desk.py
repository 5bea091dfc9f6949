"""The case desk: case operations against storage, the issuers' status checks and the access log.

The pure rules live in `model`, `materials` and `review`; this module loads a case,
applies a rule, stores the result under optimistic concurrency and logs the step.
Every refusal is logged too, with the same reason code the caller receives. The
material set (fetch once, read from the case) is `material_desk`.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from exchange.app import case_records
from exchange.app.case_records import CaseQuery, Savings, StoredCase
from exchange.auth.identity import Caller
from exchange.cases import model
from exchange.cases.desk_base import DeskBase
from exchange.cases.lifecycle import CaseAction, CaseState, next_state
from exchange.cases.materials import Material, MaterialStatus, missing_mandatory, refuse_if_not_valid
from exchange.cases.model import Actor, Case, CaseEvent, DeadlineStatus
from exchange.cases.parties import CaseParty, PartyInput
from exchange.cases.review import Verdict
from exchange.cases.timeline import Detail
from exchange.clock import now_us, to_datetime
from exchange.errors import FailedPrecondition, FieldViolation, InvalidArgument, quote
from exchange.policy import Facts, Thing, enforce, sees_all
from exchange.storage import IntegrityError, case_store
from exchange.supervision.levels import WarningLevel, warning_level

if TYPE_CHECKING:
    from exchange.hub import Hub
    from exchange.registry import Registry

StatusCheck = Callable[[str, str, str], Awaitable[MaterialStatus]]
"""Asks an issuer (department, dataset, key) for the current status of a material."""

# How often an opinion without expected_version is re-applied after another department's concurrent write.
OPINION_RETRIES = 8
OVERDUE_SCAN_LIMIT = 10_000


@dataclass(frozen=True)
class CaseView:
    """A case as callers see it: the record, its title, its clock, its savings and its full timeline."""

    case: Case
    title: str
    deadline: DeadlineStatus
    savings: Savings
    timeline: tuple[CaseEvent, ...]
    # Supervision's 红黄牌: none, yellow (nearly overdue) or red (overdue).
    warning: WarningLevel = WarningLevel.NONE


def _material_events(materials: Sequence[Material]) -> list[CaseEvent]:
    events = []
    for m in materials:
        department, _, officer = m.fetched_by.partition("/")
        kind = "material_attached" if m.version == 1 else "material_refreshed"
        detail = Detail.of(
            "material", dataset=m.dataset, key=m.key, version=m.version, issuer=m.issuer, status=m.status_code or "-"
        )
        events.append(CaseEvent.of(to_datetime(m.fetched_at_us), Actor(department, officer), kind, detail))
    return events


def _same_request(case: Case, request_id: str, service_item: str, applicant_id: str) -> None:
    """A retried create must be the same application; a reused request id for another one is refused."""
    if (case.service_item, case.applicant_id) != (service_item, applicant_id[:64]):
        raise InvalidArgument(
            f"request_id {quote(request_id)} already opened case {case.id} for {case.service_item} / "
            f"{case.applicant_id}; use a new request_id for a different application",
            reason="REQUEST_ID_REUSED",
            violations=[FieldViolation("request_id", "already used for another application")],
        )


def _validated_parties(parties: Sequence[PartyInput]) -> tuple[CaseParty, ...]:
    """Each party checked (relation, identifier for its kind, name), naming its place in the request."""
    return tuple(p.validated(f"parties[{i}]") for i, p in enumerate(parties))


class CaseDesk(DeskBase):
    """Opens, moves, reviews and supplies cases for the CaseService."""

    def __init__(
        self, hub: Hub, registry: Registry, check_status: StatusCheck, clock: Callable[[], int] = now_us
    ) -> None:
        super().__init__(hub, registry)
        self.check_status = check_status
        # Settable so the deadline rules can be exercised at chosen dates.
        self.clock = clock

    # --- loading and storing -----------------------------------------------------------------------

    async def _save(self, case: Case, read_version: int) -> None:
        """Store ``case``; Aborted (naming who changed it) if someone else wrote it since ``read_version``."""
        async with self.hub.db.begin() as conn:
            stored = await case_records.update_case(conn, case, read_version, now_us())
        if not stored:
            model.check_version(await self._load(case.id), read_version)

    async def _view(self, case: Case) -> CaseView:
        """The case as stored now beside ``case`` (title, savings), with materials in its timeline."""
        async with self.hub.db.read() as conn:
            stored = await case_records.list_stored_cases(conn, CaseQuery(case_id=case.id, limit=1))
            materials = await case_records.list_materials(conn, case.id)
        title, saved = (stored[0].title, stored[0].savings) if stored else ("", Savings())
        return self._summary(StoredCase(case, title, saved), materials)

    def _summary(self, stored: StoredCase, materials: Sequence[Material] = ()) -> CaseView:
        case = stored.case
        timeline = sorted([*case.events, *_material_events(materials)], key=lambda e: e.at)
        now = to_datetime(self.clock())
        status = model.deadline_status(case, now, self.hub.calendar)
        warning = warning_level(case, now, self.hub.calendar, self.hub.settings.yellow_working_days)
        return CaseView(case, stored.title, status, stored.savings, tuple(timeline), warning)

    # --- cases -------------------------------------------------------------------------------------

    async def create(
        self,
        caller: Caller,
        *,
        service_item: str,
        applicant_id: str,
        applicant_kind: str,
        title: str,
        request_id: str,
        parties: Sequence[PartyInput] = (),
        applicant_name: str = "",
    ) -> CaseView:
        """Open a case for the caller's department (which must lead the item); a retried request gets the same case.

        ``parties`` are those besides the applicant whose data the application needs (a legal representative,
        the owner of the premises); the case may read data about its parties only.
        """
        async with self._refusals(caller, "cases.create", ""):
            request_key = (
                hashlib.sha256(f"{caller.department}\n{request_id}".encode()).hexdigest() if request_id else None
            )
            if request_key:
                existing = await self._existing(request_key)
                if existing is not None:
                    _same_request(existing, request_id, service_item, applicant_id)
                    return await self._view(existing)
            if not service_item:
                raise InvalidArgument(
                    "name the service item applied for",
                    reason="MISSING_FIELD",
                    violations=[FieldViolation("service_item", "required")],
                )
            item = await self.registry.get_service_item(service_item)
            checked = _validated_parties(parties)
            case = model.open_case(
                case_id=f"c-{uuid.uuid4().hex[:20]}",
                service_item=item.code,
                applicant_id=applicant_id[:64],
                applicant_kind=applicant_kind,
                lead_department=item.lead_department,
                reviewers=item.co_reviewers,
                by=Actor(caller.department, caller.officer_id),
                now=to_datetime(self.clock()),
                parties=checked,
                applicant_name=applicant_name,
            )
            try:
                async with self.hub.db.begin() as conn:
                    await case_records.insert_case(conn, case, request_key, now_us())
                    await case_store.set_title(conn, case.id, title[:500])
            except IntegrityError:
                # The same request raced itself (or ran on another replica): answer with the case it opened.
                raced = await self._existing(request_key) if request_key else None
                if raced is None:
                    raise
                return await self._view(raced)
        await self._log(caller, "cases.create", case, case.id, details={"state": str(case.state)})
        return await self._view(case)

    async def add_party(self, caller: Caller, case_id: str, party: PartyInput, expected_version: int = 0) -> CaseView:
        """Record one more party on an open case (by an officer of a department on it), logged under that party."""
        async with self._refusals(caller, "cases.party.add", case_id) as seen:
            checked = party.validated("party")
            for _ in range(OPINION_RETRIES):
                case = seen.case = await self._load(case_id)
                self._require_involved(caller, case, "cases.party.add")  # before the version tells who acted
                if expected_version:
                    model.check_version(case, expected_version)
                by = Actor(caller.department, caller.officer_id)
                updated = model.add_party(case, by, to_datetime(self.clock()), checked)
                async with self.hub.db.begin() as conn:
                    stored = await case_records.update_case(conn, updated, case.version, now_us())
                    if stored:
                        await case_records.insert_parties(conn, case.id, (checked,), now_us())
                if stored:
                    break
            else:
                raise FailedPrecondition(
                    f"case {case_id[:40]} changed {OPINION_RETRIES} times while adding the party; try again",
                    reason="CASE_BUSY",
                )
        await self._log(
            caller,
            "cases.party.add",
            updated,
            case.id,
            subject_id=checked.party_id,
            details={"relation": checked.relation, "kind": checked.kind},
        )
        return await self._view(updated)

    async def _existing(self, request_key: str) -> Case | None:
        async with self.hub.db.read() as conn:
            case_id = await case_store.case_id_for_request(conn, request_key)
        return await self._load(case_id) if case_id else None

    async def get(self, caller: Caller, case_id: str) -> CaseView:
        """One case with its timeline, for a department on it (or an auditor)."""
        async with self._refusals(caller, "cases.read", case_id) as seen:
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "cases.read")
        await self._log(caller, "cases.read", case, case.id)
        return await self._view(case)

    async def list_cases(
        self,
        caller: Caller,
        *,
        state: str = "",
        department: str = "",
        service_item: str = "",
        overdue_only: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> list[CaseView]:
        """Cases of a department (an officer sees only its own department's), filtered."""
        async with self._refusals(caller, "cases.list", ""):
            department = self._department_scope(caller, "cases.list", department)
            where = CaseQuery((state,) if state else (), department, service_item, offset=offset, limit=limit)
            if overdue_only:
                # Overdue is judged on the clock, not in the query: scan the open cases, then take the page.
                where = replace(where, offset=0, limit=OVERDUE_SCAN_LIMIT)
            async with self.hub.db.read() as conn:
                found = await case_records.list_stored_cases(conn, where, open_only=overdue_only)
            views = [self._summary(c) for c in found]
            if overdue_only:
                views = [v for v in views if v.deadline.state == "overdue"][offset : offset + limit]
        await self._log(caller, "cases.list", None, "", details={"department": department, "count": str(len(views))})
        return views

    def _department_scope(self, caller: Caller, operation: str, department: str) -> str:
        """The department whose cases `caller` lists: the one asked for if the policy lets it, else its own."""
        if sees_all(caller, operation):
            return department
        enforce(caller, operation, Facts(department=department, what=Thing("cases_of", department)))
        return caller.department

    async def overdue(
        self, caller: Caller, department: str, *, include_nearly: bool, offset: int = 0, limit: int = 100
    ) -> list[CaseView]:
        """Open cases of a department past their deadline (and, if asked, under one working day from it)."""
        wanted = {"overdue", "nearly_overdue"} if include_nearly else {"overdue"}
        async with self._refusals(caller, "cases.overdue", ""):
            department = self._department_scope(caller, "cases.overdue", department)
            async with self.hub.db.read() as conn:
                where = CaseQuery(department=department, limit=OVERDUE_SCAN_LIMIT)
                found = await case_records.list_stored_cases(conn, where, open_only=True)
            views = [self._summary(c) for c in found]
            late = sorted((v for v in views if v.deadline.state in wanted), key=lambda v: v.deadline.working_days_left)
        await self._log(caller, "cases.overdue", None, "", details={"department": department, "count": str(len(late))})
        return late[offset : offset + limit]

    async def transition(
        self,
        caller: Caller,
        case_id: str,
        action: CaseAction,
        expected_version: int,
        reasons: Sequence[str] = (),
        comment: str = "",
    ) -> CaseView:
        """Move a case through its lifecycle; approval re-checks every material with its issuer first."""
        async with self._refusals(caller, "cases.transition", case_id) as seen:
            if expected_version <= 0:
                raise InvalidArgument(
                    "pass the case version you read as expected_version, so a concurrent change is not overwritten",
                    reason="EXPECTED_VERSION_REQUIRED",
                    violations=[FieldViolation("expected_version", "the version from GetCase")],
                )
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "cases.transition")
            model.check_version(case, expected_version)
            updated = await self._apply(caller, case, action, reasons, comment)
            await self._save(updated, expected_version)
        await self._log(
            caller,
            "cases.transition",
            updated,
            case.id,
            details={"action": str(action), "from": str(case.state), "to": str(updated.state)},
        )
        return await self._view(updated)

    async def _apply(
        self, caller: Caller, case: Case, action: CaseAction, reasons: Sequence[str], comment: str
    ) -> Case:
        by, now, calendar = Actor(caller.department, caller.officer_id), to_datetime(self.clock()), self.hub.calendar
        if action is CaseAction.ACCEPT:
            item = await self.registry.get_service_item(case.service_item)
            return model.accept(case, by, now, calendar, item.time_limit_days)
        if action is CaseAction.NOT_ACCEPT:
            return model.not_accept(case, by, now, reasons)
        if action is CaseAction.REQUEST_CORRECTION:
            return model.request_correction(case, by, now, reasons)
        if action is CaseAction.SUBMIT_CORRECTION:
            return model.submit_correction(case, by, now, calendar)
        if action is CaseAction.START_REVIEW:
            return model.start_review(case, by, now)
        if action is CaseAction.WITHDRAW:
            return model.withdraw(case, by, now, comment)
        if action is CaseAction.CLOSE:
            return model.close(case, by, now)
        # APPROVE or REJECT: the review decides; the action says what the lead expects it to decide.
        next_state(case.state, action)
        decided = model.decide(case, by, now)
        wanted = CaseState.APPROVED if action is CaseAction.APPROVE else CaseState.REJECTED
        if decided.state is not wanted:
            raise FailedPrecondition(
                f"case {case.id} cannot be {wanted}: the review came out {decided.state} "
                f"({'; '.join(f'{d}: {o.verdict}' for d, o in case.opinions.items())})",
                reason="REVIEW_OUTCOME_DIFFERS",
                metadata={"case": case.id, "outcome": str(decided.state)},
            )
        if wanted is CaseState.APPROVED:
            await self._recheck_materials(caller, case)
        return decided

    async def _recheck_materials(self, caller: Caller, case: Case) -> None:
        """Every mandatory material held, and each current one still valid according to its issuer."""
        item = await self.registry.get_service_item(case.service_item)
        async with self.hub.db.read() as conn:
            current = [m for m in await case_records.list_materials(conn, case.id) if m.current]
        missing = missing_mandatory(item, {m.dataset for m in current})
        if missing:
            raise FailedPrecondition(
                f"case {case.id} cannot be approved: mandatory material(s) {', '.join(missing)} are not attached; "
                "attach them with AttachMaterial first",
                reason="MATERIAL_MISSING",
                metadata={"case": case.id, "datasets": ",".join(missing)},
            )
        # Records without a status (an identity record) have nothing the issuer could have revoked.
        tracked = [m for m in current if (await self.registry.get_dataset(m.dataset)).status_field]
        statuses = await asyncio.gather(*(self.check_status(m.issuer, m.dataset, m.key) for m in tracked))
        for material, status in zip(tracked, statuses, strict=True):
            await self._log(
                caller,
                "cases.check_material",
                case,
                case.id,
                dataset=material.dataset,
                reason="" if status.valid else "MATERIAL_NO_LONGER_VALID",
                details={
                    "version": str(material.version),
                    "status_code": status.status_code,
                    "valid": str(status.valid).lower(),
                },
            )
        for material, status in zip(tracked, statuses, strict=True):
            refuse_if_not_valid(material, status)

    async def record_opinion(
        self, caller: Caller, case_id: str, verdict: Verdict, comment: str, expected_version: int = 0
    ) -> CaseView:
        """One involved department's opinion; without expected_version, concurrent opinions never clash."""
        async with self._refusals(caller, "cases.opinion", case_id) as seen:
            for _ in range(OPINION_RETRIES):
                case = seen.case = await self._load(case_id)
                self._require_involved(caller, case, "cases.opinion")  # before the version tells who acted
                if expected_version:
                    model.check_version(case, expected_version)
                updated = model.record_opinion(
                    case, caller.department, caller.officer_id, verdict, comment, to_datetime(self.clock())
                )
                async with self.hub.db.begin() as conn:
                    stored = await case_records.update_case(conn, updated, case.version, now_us())
                if stored:
                    break
                if expected_version:
                    model.check_version(await self._load(case_id), expected_version)
            else:
                raise FailedPrecondition(
                    f"case {case_id} changed {OPINION_RETRIES} times while recording the opinion; try again",
                    reason="CASE_BUSY",
                )
        await self._log(caller, "cases.opinion", updated, case.id, details={"verdict": str(verdict)})
        return await self._view(updated)

    async def savings(self, caller: Caller, *, case_id: str = "", service_item: str = "") -> Savings:
        """Totals for one case, one service item or the whole hub (counts only, no personal data)."""
        async with self.hub.db.read() as conn:
            return await case_store.savings(conn, case_id=case_id[:40], service_item=service_item[:64])
