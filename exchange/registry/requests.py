"""Access requests for conditional data: filed by the consumer, answered by the owner within working days."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from exchange import localtime
from exchange.app import grant_records
from exchange.auth.access_requests import AccessRequest, AccessRequestStatus
from exchange.auth.identity import Caller
from exchange.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, quote
from exchange.policy import Facts, Grant, Thing, decide, enforce, enforce_list_scope, error_for
from exchange.registry.base import dataset_facts, logs_refusal
from exchange.registry.grants import GrantDesk
from exchange.storage import catalog_store
from exchange.storage.grant_store import AccessRequestQuery


class AccessRequestDesk(GrantDesk):
    """Access requests: a department asks, the owner's department admin answers (approving creates the grant)."""

    # --- access requests ---------------------------------------------------------------------------

    @logs_refusal("access_requests.create")
    async def create_access_request(
        self,
        caller: Caller,
        *,
        dataset: str,
        fields: tuple[str, ...],
        service_items: tuple[str, ...],
        legal_basis: str,
        justification: str,
        valid_until_us: int = 0,
        rate_per_minute: int = 0,
    ) -> AccessRequest:
        """The caller's department asks the owner of `dataset` for a grant; the answer is due in working days."""
        ds = await self.get_dataset(dataset)
        enforce(caller, "access_requests.create", dataset_facts(ds))
        problems: list[FieldViolation] = []
        if not fields:
            problems.append(FieldViolation("fields", "name the fields needed"))
        for i, name in enumerate(fields):
            if name != "*" and not ds.schema.has_field(name):
                problems.append(FieldViolation(f"fields[{i}]", f"{dataset} has no field {quote(name)}"))
        if not service_items:
            problems.append(FieldViolation("service_items", "name the service items the data is needed for"))
        async with self.hub.db.read() as conn:
            for i, code in enumerate(service_items):
                item = await catalog_store.get_service_item(conn, code)
                if item is None:
                    problems.append(FieldViolation(f"service_items[{i}]", f"no service item {quote(code)}"))
                elif all(m.dataset != dataset for m in item.required_materials):
                    problems.append(FieldViolation(f"service_items[{i}]", f"{code} does not require {dataset}"))
        if not legal_basis.strip():
            problems.append(FieldViolation("legal_basis", "cite the law or regulation that allows this use"))
        if not justification.strip():
            problems.append(FieldViolation("justification", "say why the service items need these fields"))
        if rate_per_minute < 0:
            problems.append(FieldViolation("rate_per_minute", "must be 0 (unlimited) or more"))
        if problems:
            raise InvalidArgument(
                f"the access request for {dataset} is incomplete", reason="INVALID_ACCESS_REQUEST", violations=problems
            )
        now = self.hub.clock()
        start = datetime.fromtimestamp(now / 1e6, UTC)
        due = self.hub.calendar.add_working_days(start, self.hub.settings.access_request_days)
        request = AccessRequest(
            id=f"ar-{uuid.uuid4().hex[:16]}",
            consumer=caller.department,
            dataset=dataset,
            owner=ds.owner,
            fields=tuple(fields),
            service_items=tuple(service_items),
            legal_basis=legal_basis.strip()[:2000],
            justification=justification.strip()[:4000],
            requested_by=f"{caller.department}/{caller.officer_id}",
            requested_at_us=now,
            answer_due_us=int(due.timestamp() * 1e6),
            valid_until_us=valid_until_us,
            rate_per_minute=rate_per_minute,
        )
        async with self.hub.db.begin() as conn:
            await grant_records.insert_access_request(conn, request)
        await self._log_change(
            caller, "access_requests.create", request.id, f"{request.consumer} asks {ds.owner}", dataset=dataset
        )
        return request

    async def get_access_request(self, request_id: str, caller: Caller) -> AccessRequest:
        async with self.hub.db.read() as conn:
            request = await grant_records.get_access_request(conn, request_id)
        missing = NotFound(f"no access request {quote(request_id)} that you may see", reason="ACCESS_REQUEST_NOT_FOUND")
        if request is None:
            raise missing
        facts = Facts(parties=(request.owner, request.consumer), what=Thing("access_request", request_id))
        decision = decide(caller, "access_requests.read", facts)
        if not decision.allowed:
            raise missing if decision.reason == missing.reason else error_for(decision)
        return request

    async def list_access_requests(
        self,
        caller: Caller,
        *,
        owner: str = "",
        consumer: str = "",
        status: str = "",
        overdue_only: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> list[AccessRequest]:
        """Requests the caller may see (a department admin: its inbox and its own requests)."""
        either_party = enforce_list_scope(caller, "access_requests.list")
        where = AccessRequestQuery(owner, consumer, either_party, status, offset=offset, limit=limit)
        overdue_at_us = self.hub.clock() if overdue_only else 0
        async with self.hub.db.read() as conn:
            return await grant_records.list_access_requests(conn, where, overdue_at_us=overdue_at_us)

    @logs_refusal("access_requests.decide")
    async def decide_access_request(
        self, request_id: str, *, approve: bool, reason: str, caller: Caller
    ) -> tuple[AccessRequest, Grant | None]:
        """The owner's department admin approves, creating the grant, or denies with a reason."""
        request = await self.get_access_request(request_id, caller)
        enforce(
            caller, "access_requests.decide", Facts(department=request.owner, what=Thing("dataset", request.dataset))
        )
        if request.status != AccessRequestStatus.PENDING:
            raise FailedPrecondition(
                f"access request {request_id} was already {request.status.value}; file a new one to ask again",
                reason="ACCESS_REQUEST_DECIDED",
            )
        if not approve and not reason.strip():
            raise InvalidArgument(
                "a denial must give the reason, so the requesting department can act on it",
                reason="REASON_REQUIRED",
                violations=[FieldViolation("reason", "required when denying")],
            )
        now = self.hub.clock()
        late = request.overdue_at(now)
        if late and self.hub.settings.late_answer == "refuse":
            due = localtime.show(request.answer_due_us)
            raise FailedPrecondition(
                f"access request {request_id} was due by {due}; this hub refuses late answers (late_answer: refuse) "
                "and has escalated it to the hub's supervisors; the requesting department may file a new request",
                reason="ANSWER_PAST_LIMIT",
                metadata={"request": request_id},
            )
        decided = replace(
            request,
            status=AccessRequestStatus.APPROVED if approve else AccessRequestStatus.DENIED,
            decided_by=f"{caller.department}/{caller.officer_id}",
            decided_at_us=now,
            decision_reason=reason.strip()[:2000],
            answered_late=late,
        )
        async with self.hub.db.begin() as conn:
            if not await grant_records.decide_access_request(conn, decided):
                raise FailedPrecondition(
                    f"access request {request_id} was answered by someone else just now",
                    reason="ACCESS_REQUEST_DECIDED",
                )
        grant = None
        if approve:
            try:
                grant = await self.create_grant(
                    caller,
                    consumer=request.consumer,
                    dataset=request.dataset,
                    fields=request.fields,
                    service_items=request.service_items,
                    valid_until_us=request.valid_until_us,
                    rate_per_minute=request.rate_per_minute,
                    access_request_id=request.id,
                )
            except Exception:
                # No grant, no approval: put the request back in the owner's inbox.
                async with self.hub.db.begin() as conn:
                    await grant_records.reopen_access_request(conn, request)
                raise
            decided = replace(decided, grant_id=grant.id)
            async with self.hub.db.begin() as conn:
                await grant_records.set_access_request_grant(conn, decided)
        await self._log_change(
            caller,
            "access_requests.decide",
            request.id,
            decided.decision_reason or decided.status.value,
            dataset=request.dataset,
            answer=decided.status.value,
            # Supervision counts answers in time from here (exchange.supervision.figures).
            late="true" if decided.answered_late else "false",
        )
        return decided, grant
