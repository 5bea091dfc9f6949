"""The case desk: case operations against storage, the once-only fetch and the access log.

The pure rules live in `model`, `materials` and `review`; this module loads a case,
applies a rule, stores the result under optimistic concurrency and logs the step.
Every refusal is logged too, with the same reason code the caller receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.signing import canonical_json
from catalog.errors import (
    ExchangeError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import Receipt
from exchange.auth.authz import decide_fetch
from exchange.auth.identity import Caller, Role
from exchange.cases import model
from exchange.cases.lifecycle import CaseAction, CaseState, is_open, next_state
from exchange.cases.materials import (
    Material,
    MaterialStatus,
    content_digest,
    missing_mandatory,
    refuse_if_not_valid,
    required_material,
    validity_of,
)
from exchange.cases.model import Actor, Case, CaseEvent, DeadlineStatus
from exchange.cases.review import Verdict
from exchange.cases.singleflight import SingleFlight
from exchange.clock import now_us, to_datetime
from exchange.storage import case_store, grant_store
from exchange.storage import tables as t
from exchange.storage.case_store import Savings

if TYPE_CHECKING:
    from exchange.fetch import Fetcher
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


def _roles(caller: Caller) -> str:
    return ",".join(sorted(r.value for r in caller.roles))


def _overseer(caller: Caller) -> bool:
    """Auditors and hub admins may see every case's metadata."""
    return caller.has(Role.AUDITOR) or caller.has(Role.HUB_ADMIN)


def _material_events(materials: Sequence[Material]) -> list[CaseEvent]:
    events = []
    for m in materials:
        department, _, officer = m.fetched_by.partition("/")
        kind = "material_attached" if m.version == 1 else "material_refreshed"
        detail = f"{m.dataset} {m.key} v{m.version} from {m.issuer} (status {m.status_code or '-'})"
        events.append(CaseEvent(to_datetime(m.fetched_at_us), department, officer, kind, detail))
    return events


@dataclass
class _Seen:
    """The case a step had loaded when it was refused, so the refusal's log entry names its subject."""

    case: Case | None = None


class CaseDesk:
    """Opens, moves, reviews and supplies cases for the CaseService."""

    def __init__(
        self,
        hub: Hub,
        registry: Registry,
        fetcher: Fetcher,
        check_status: StatusCheck,
        clock: Callable[[], int] = now_us,
    ) -> None:
        self.hub = hub
        self.registry = registry
        self.fetcher = fetcher
        self.check_status = check_status
        # Settable so the deadline rules can be exercised at chosen dates.
        self.clock = clock
        self._flights: SingleFlight[tuple[Material, bool]] = SingleFlight()

    # --- the access log ----------------------------------------------------------------------------

    def _entry(self, caller: Caller, action: str, case: Case | None, case_id: str, **extra: Any) -> AccessLogEntry:
        values: dict[str, Any] = {
            "time_us": now_us(),
            "request_id": uuid.uuid4().hex,
            "action": action,
            "caller_department": caller.department,
            "officer_id": caller.officer_id,
            "officer_role": _roles(caller),
            "case_id": case_id[:40],
            "service_item": case.service_item if case else "",
            "subject_id": case.applicant_id if case else "",
        }
        return AccessLogEntry(**{**values, **extra})

    async def _log(self, caller: Caller, action: str, case: Case | None, case_id: str, **extra: Any) -> Receipt:
        return await self.hub.record(self._entry(caller, action, case, case_id, **extra))

    @contextlib.asynccontextmanager
    async def _refusals(self, caller: Caller, action: str, case_id: str, dataset: str = "") -> AsyncIterator[_Seen]:
        """Log a refusal (with its reason) of the step inside, then let it reach the caller."""
        seen = _Seen()
        try:
            yield seen
        except ExchangeError as error:
            await self._log(
                caller,
                action,
                seen.case,
                case_id,
                dataset=dataset[:64],
                decision="deny" if isinstance(error, PermissionDenied) else "allow",
                reason=error.reason,
                message=error.message[:500],
                outcome=type(error).__name__,
            )
            raise

    # --- loading and storing -----------------------------------------------------------------------

    async def _load(self, case_id: str) -> Case:
        async with self.hub.db.read() as conn:
            return await self._load_in(conn, case_id)

    async def _load_in(self, conn: AsyncConnection, case_id: str) -> Case:
        """The case, or NotFound; on a connection the caller goes on using."""
        if not case_id:
            raise InvalidArgument(
                "name the case (its id)", reason="MISSING_FIELD", violations=[FieldViolation("id", "required")]
            )
        case = await case_store.get_case(conn, case_id[:40])
        if case is None:
            raise NotFound(f"no case {case_id[:40]!r}", reason="CASE_NOT_FOUND", metadata={"case": case_id[:40]})
        return case

    async def _save(self, case: Case, read_version: int) -> None:
        """Store ``case``; Aborted (naming who changed it) if someone else wrote it since ``read_version``."""
        async with self.hub.db.begin() as conn:
            stored = await case_store.update_case(conn, case, read_version, now_us())
        if not stored:
            model.check_version(await self._load(case.id), read_version)

    async def _view(self, case: Case) -> CaseView:
        """The case as stored now beside ``case`` (title, savings), with materials in its timeline."""
        async with self.hub.db.read() as conn:
            stored = await case_store.list_stored_cases(conn, case_id=case.id, limit=1)
            materials = await case_store.list_materials(conn, case.id)
        title, saved = (stored[0].title, stored[0].savings) if stored else ("", Savings())
        return self._summary(case_store.StoredCase(case, title, saved), materials)

    def _summary(self, stored: case_store.StoredCase, materials: Sequence[Material] = ()) -> CaseView:
        case = stored.case
        timeline = sorted([*case.events, *_material_events(materials)], key=lambda e: e.at)
        status = model.deadline_status(case, to_datetime(self.clock()), self.hub.calendar)
        return CaseView(case, stored.title, status, stored.savings, tuple(timeline))

    def _require_involved(self, caller: Caller, case: Case, what: str) -> None:
        if caller.department in case.involved_departments or _overseer(caller):
            return
        raise PermissionDenied(
            f"{caller.department} is not involved in case {case.id} "
            f"(involved: {', '.join(case.involved_departments)}) and cannot {what}",
            reason="NOT_INVOLVED",
            metadata={"case": case.id, "department": caller.department},
        )

    # --- cases -------------------------------------------------------------------------------------

    async def create(
        self, caller: Caller, *, service_item: str, applicant_id: str, applicant_kind: str, title: str, request_id: str
    ) -> CaseView:
        """Open a case for the caller's department (which must lead the item); a retried request gets the same case."""
        async with self._refusals(caller, "cases.create", ""):
            request_key = (
                hashlib.sha256(f"{caller.department}\n{request_id}".encode()).hexdigest() if request_id else None
            )
            if request_key:
                existing = await self._existing(request_key)
                if existing is not None:
                    return await self._view(existing)
            if not service_item:
                raise InvalidArgument(
                    "name the service item applied for",
                    reason="MISSING_FIELD",
                    violations=[FieldViolation("service_item", "required")],
                )
            item = await self.registry.get_service_item(service_item)
            case = model.open_case(
                case_id=f"c-{uuid.uuid4().hex[:20]}",
                service_item=item.code,
                applicant_id=applicant_id[:64],
                applicant_kind=applicant_kind,
                lead_department=item.lead_department,
                reviewers=item.co_reviewers,
                by=Actor(caller.department, caller.officer_id),
                now=to_datetime(self.clock()),
            )
            try:
                async with self.hub.db.begin() as conn:
                    await case_store.insert_case(conn, case, request_key, now_us())
                    await conn.execute(t.cases.update().where(t.cases.c.id == case.id).values(title=title[:500]))
            except sa.exc.IntegrityError:
                # The same request raced itself (or ran on another replica): answer with the case it opened.
                raced = await self._existing(request_key) if request_key else None
                if raced is None:
                    raise
                return await self._view(raced)
        await self._log(caller, "cases.create", case, case.id, details={"state": str(case.state)})
        return await self._view(case)

    async def _existing(self, request_key: str) -> Case | None:
        async with self.hub.db.read() as conn:
            case_id = await case_store.case_id_for_request(conn, request_key)
        return await self._load(case_id) if case_id else None

    async def get(self, caller: Caller, case_id: str) -> CaseView:
        """One case with its timeline, for a department on it (or an auditor)."""
        async with self._refusals(caller, "cases.get", case_id) as seen:
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "read it")
        await self._log(caller, "cases.get", case, case.id)
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
            department = self._department_scope(caller, department)
            async with self.hub.db.read() as conn:
                found = await case_store.list_stored_cases(
                    conn,
                    state=state,
                    department=department,
                    service_item=service_item,
                    open_only=overdue_only,
                    offset=0 if overdue_only else offset,
                    limit=OVERDUE_SCAN_LIMIT if overdue_only else limit,
                )
            views = [self._summary(c) for c in found]
            if overdue_only:
                views = [v for v in views if v.deadline.state == "overdue"][offset : offset + limit]
        await self._log(caller, "cases.list", None, "", details={"department": department, "count": str(len(views))})
        return views

    def _department_scope(self, caller: Caller, department: str) -> str:
        if _overseer(caller) or (caller.has(Role.DEPT_ADMIN) and department in ("", caller.department)):
            return department if _overseer(caller) else caller.department
        if department and department != caller.department:
            raise PermissionDenied(
                f"{caller.department} may list only its own cases, not those of {department}",
                reason="NOT_OWN_DEPARTMENT",
            )
        return caller.department

    async def overdue(
        self, caller: Caller, department: str, *, include_nearly: bool, offset: int = 0, limit: int = 100
    ) -> list[CaseView]:
        """Open cases of a department past their deadline (and, if asked, under one working day from it)."""
        wanted = {"overdue", "nearly_overdue"} if include_nearly else {"overdue"}
        async with self._refusals(caller, "cases.overdue", ""):
            department = self._department_scope(caller, department)
            async with self.hub.db.read() as conn:
                found = await case_store.list_stored_cases(
                    conn, department=department, open_only=True, limit=OVERDUE_SCAN_LIMIT
                )
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
            self._require_involved(caller, case, str(action))
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
            current = [m for m in await case_store.list_materials(conn, case.id) if m.current]
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
                if expected_version:
                    model.check_version(case, expected_version)
                updated = model.record_opinion(
                    case, caller.department, caller.officer_id, verdict, comment, to_datetime(self.clock())
                )
                async with self.hub.db.begin() as conn:
                    stored = await case_store.update_case(conn, updated, case.version, now_us())
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

    # --- materials ---------------------------------------------------------------------------------

    async def attach(
        self, caller: Caller, case_id: str, dataset: str, key: str, *, refresh: bool, time_budget: float | None = None
    ) -> tuple[Material, bool]:
        """Fetch a required material into the case once; concurrent requests share one upstream fetch."""
        async with self._refusals(caller, "cases.attach_material", case_id, dataset) as seen:
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "attach materials")
            if not is_open(case.state):
                raise FailedPrecondition(
                    f"case {case.id} is {case.state}; materials are attached only to open cases",
                    reason="CASE_NOT_OPEN",
                    metadata={"case": case.id, "state": str(case.state)},
                )
            item = await self.registry.get_service_item(case.service_item)
            required_material(item, dataset, case.id)
            async with self.hub.db.read() as conn:
                held = await case_store.get_material(conn, case.id, dataset)
            if held is not None and not refresh:
                if key and key != held.key:
                    raise FailedPrecondition(
                        f"case {case.id} already holds {dataset} {held.key}; to replace it with {key}, "
                        "attach with refresh",
                        reason="MATERIAL_KEY_DIFFERS",
                    )
                await self._log_shared(caller, case, held, "already_held")
                return held, False
            key = key or (held.key if held else "")
            if not key:
                raise InvalidArgument(
                    f"name the {dataset} to fetch (its key)",
                    reason="MISSING_FIELD",
                    violations=[FieldViolation("key", "required")],
                )
        held_version = held.version if held else 0
        ran_here = False

        async def fetch_once() -> tuple[Material, bool]:
            nonlocal ran_here
            ran_here = True
            return await self._fetch_material(caller, case, dataset, key, held_version, time_budget)

        try:
            (material, fetched), _ = await self._flights.run((case.id, dataset, held_version), fetch_once)
        except ExchangeError as error:
            if not ran_here:
                # The fetch this request joined failed; the fetch itself logged its own entry.
                await self._log(
                    caller,
                    "cases.attach_material",
                    case,
                    case.id,
                    dataset=dataset,
                    reason=error.reason,
                    outcome=type(error).__name__,
                    details={"shared": "true"},
                )
            raise
        if not (ran_here and fetched):
            await self._log_shared(caller, case, material, "coalesced" if ran_here is False else "already_held")
        return material, ran_here and fetched

    async def _log_shared(self, caller: Caller, case: Case, material: Material, how: str) -> None:
        await self._log(
            caller,
            "cases.attach_material",
            case,
            case.id,
            dataset=material.dataset,
            dataset_version=material.dataset_version,
            outcome=how,
            details={"version": str(material.version), "upstream_call": "false"},
        )

    async def _fetch_material(
        self, caller: Caller, case: Case, dataset: str, key: str, seen_version: int, time_budget: float | None
    ) -> tuple[Material, bool]:
        """The one upstream fetch of a material version (re-checked, since a fetch may just have finished)."""
        from exchange.fetch import FetchRequest  # the fetch module speaks protobuf to adapters

        async with self.hub.db.read() as conn:
            held = await case_store.get_material(conn, case.id, dataset)
        if held is not None and held.version != seen_version:
            return held, False
        result = await self.fetcher.fetch(
            caller,
            FetchRequest(
                dataset=dataset,
                key=key,
                case_id=case.id,
                service_item=case.service_item,
                time_budget=time_budget,
            ),
            action="cases.attach_material",
        )
        ds = await self.registry.get_dataset(dataset)
        status_code, valid_until = validity_of(ds, result.signed.document())
        p = result.provenance
        material = Material(
            case_id=case.id,
            dataset=dataset,
            key=p.key,
            version=seen_version + 1,
            digest=content_digest(result.document_json),
            fields=result.fields,
            issuer=p.issuer,
            dataset_version=p.dataset_version,
            issued_at_us=p.issued_at_us,
            kid=p.kid,
            signature=p.signature,
            content_digest=p.content_digest,
            fetched_at_us=p.fetched_at_us,
            fetched_by=f"{caller.department}/{caller.officer_id}",
            valid_until_us=valid_until,
            status_code=status_code,
            current=True,
            subject_id=result.subject_id,
            receipt_index=result.receipt.index,
            receipt_leaf_hash=result.receipt.leaf_hash,
            receipt_origin=result.receipt.origin,
        )
        # Each department would otherwise have needed the applicant's copy of a newly required material.
        avoided = len(case.involved_departments) if material.version == 1 else 0
        try:
            async with self.hub.db.begin() as conn:
                await case_store.put_document(conn, material.digest, result.document_json, now_us())
                await case_store.add_material(conn, material)
                await case_store.add_savings(conn, case.id, fetched=1, avoided=avoided)
        except sa.exc.IntegrityError:
            # Another hub replica stored this version first: keep its copy, ours was one extra fetch.
            async with self.hub.db.read() as conn:
                winner = await case_store.get_material(conn, case.id, dataset)
            if winner is None:
                raise
            return winner, False
        return material, True

    async def read_material(
        self, caller: Caller, case_id: str, dataset: str, version: int = 0
    ) -> tuple[Material, bytes, Receipt]:
        """A material from the case (no upstream call), holding the fields the caller's department may see."""
        async with self._refusals(caller, "cases.read_material", case_id, dataset) as seen:
            ds = await self.registry.get_dataset(dataset)
            async with self.hub.db.read() as conn:
                case = seen.case = await self._load_in(conn, case_id)
                material = await case_store.get_material(conn, case.id, dataset, version)
                # The same facts and the same decision as a fetch: reading from the case grants nothing extra.
                facts = await grant_store.fetch_facts(
                    conn, caller, ds, case_id=case.id, service_item="", fields=(), now_us=now_us()
                )
                document = await case_store.get_document(conn, material.digest) if material else None
            decision = decide_fetch(facts)
            if not decision.allowed:
                raise PermissionDenied(decision.message, reason=decision.reason, metadata={"case": case.id})
            if material is None or document is None:
                which = f"version {version}" if version else "any version"
                raise NotFound(
                    f"case {case.id} holds no {dataset} ({which}); attach it with AttachMaterial",
                    reason="MATERIAL_NOT_ATTACHED",
                    metadata={"case": case.id, "dataset": dataset},
                )
            full = json.loads(document)
            visible = {name: full[name] for name in decision.fields if name in full}
            body = canonical_json(visible)
        receipt = await self._log(
            caller,
            "cases.read_material",
            case,
            case.id,
            subject_id=(material.subject_id or case.applicant_id)[:256],
            dataset=dataset,
            dataset_version=material.dataset_version,
            fields=tuple(visible),
            response_digest=hashlib.sha256(body).hexdigest(),
            details={"version": str(material.version), "upstream_call": "false"},
        )
        return material, body, receipt

    async def materials(self, caller: Caller, case_id: str) -> list[Material]:
        """Every version of every material of a case: metadata only."""
        async with self._refusals(caller, "cases.list_materials", case_id) as seen:
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "list its materials")
            async with self.hub.db.read() as conn:
                found = await case_store.list_materials(conn, case.id)
        await self._log(caller, "cases.list_materials", case, case.id, details={"count": str(len(found))})
        return found

    async def savings(self, caller: Caller, *, case_id: str = "", service_item: str = "") -> Savings:
        """Totals for one case, one service item or the whole hub (counts only, no personal data)."""
        async with self.hub.db.read() as conn:
            return await case_store.savings(conn, case_id=case_id[:40], service_item=service_item[:64])
