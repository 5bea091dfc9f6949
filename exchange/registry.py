"""Administrative changes to the registry: departments, keys, datasets, service items and grants.

Each operation checks who may make it, applies the catalog's rules (validation,
schema versioning), stores it, and writes an access-log entry describing the change.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from catalog.errors import (
    ExchangeError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    quote,
)
from catalog.model import (
    Dataset,
    DatasetStatus,
    Department,
    DepartmentKey,
    DepartmentStatus,
    KeyStatus,
    ServiceItem,
    SharingType,
    material_violations,
)
from catalog.versioning import diff_schemas, resolve_version
from exchange.app import grant_records
from exchange.audit.entry import entry_for
from exchange.auth.access_requests import AccessRequest, AccessRequestStatus
from exchange.auth.authz import Decision, Grant, GrantStatus, decide_fetch
from exchange.auth.held_roles import (
    DepartmentRoles,
    RoleSet,
    check_officer_id,
    check_role_set,
    department_roles,
    describe,
    parse_roles,
)
from exchange.auth.identity import Caller, Role
from exchange.auth.keys import algorithm_for, load_public_key
from exchange.clock import now_us
from exchange.hub import Hub
from exchange.storage import catalog_store, role_store
from exchange.storage.db import Reader


@dataclass(frozen=True)
class Registered:
    """What a registration did: the stored object, an outcome word and the schema changes."""

    outcome: str
    changes: tuple[str, ...] = ()


def require_admin_of(caller: Caller, department: str, what: str) -> None:
    """Hub admins may act on anything; a department admin only on its own department."""
    if caller.has(Role.HUB_ADMIN):
        return
    if caller.has(Role.DEPT_ADMIN) and caller.department == department:
        return
    raise PermissionDenied(
        f"{what} belongs to {department}; only its department admins or a hub admin may change it "
        f"(you act for {caller.department})",
        reason="NOT_OWNER",
    )


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def logs_refusal(action: str) -> Callable[[F], F]:
    """A refused change is written to the access log too, with the reason, before the error goes back."""

    def decorate(method: F) -> F:
        signature = inspect.signature(method)

        @functools.wraps(method)
        async def logged(self: Registry, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except ExchangeError as error:
                arguments = signature.bind(self, *args, **kwargs).arguments
                dataset = arguments.get("dataset")
                await self.hub.record(
                    entry_for(
                        arguments["caller"],
                        action,
                        dataset=dataset[:64] if isinstance(dataset, str) else "",
                        decision="deny",
                        reason=error.reason,
                        message=error.message[:500],
                        outcome=type(error).__name__,
                    )
                )
                raise

        return logged  # type: ignore[return-value]

    return decorate


class Registry:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def _log_change(self, caller: Caller, action: str, target: str, summary: str, **extra: str) -> None:
        await self.hub.record(
            entry_for(
                caller,
                action,
                dataset=extra.pop("dataset", ""),
                decision="allow",
                details={"target": target, "summary": summary, **extra},
            )
        )

    # --- departments and keys ----------------------------------------------------------------------

    @logs_refusal("departments.register")
    async def register_department(self, dept: Department, caller: Caller) -> Registered:
        for i, key in enumerate(dept.keys):
            _check_key(key, f"keys[{i}]")
        async with self.hub.db.begin() as conn:
            created = await catalog_store.put_department(conn, dept, now_us())
        await self.hub.registry_changed(dept.code)
        outcome = "created" if created else "updated"
        await self._log_change(caller, "departments.register", dept.code, f"{outcome} department {dept.name}")
        return Registered(outcome)

    async def get_department(self, code: str) -> Department:
        async with self.hub.db.read() as conn:
            dept = await catalog_store.get_department(conn, code)
        if dept is None:
            raise NotFound(f"no department {quote(code)} is registered", reason="DEPARTMENT_NOT_FOUND")
        return dept

    @logs_refusal("departments.add_key")
    async def add_key(self, department: str, key: DepartmentKey, caller: Caller) -> Department:
        require_admin_of(caller, department, f"department {department}")
        await self.get_department(department)
        _check_key(key, "key")
        async with self.hub.db.begin() as conn:
            existing = {k.key.kid for k in await catalog_store.list_keys(conn, department)}
            if key.kid in existing:
                raise InvalidArgument(
                    f"{department} already has a key {key.kid}; keys are never replaced, add one with a new kid",
                    reason="KEY_EXISTS",
                )
            await catalog_store.put_key(conn, department, replace(key, status=KeyStatus.ACTIVE), now_us())
        await self.hub.registry_changed(department)
        await self._log_change(caller, "departments.add_key", department, f"added {key.use.value} key {key.kid}")
        return await self.get_department(department)

    @logs_refusal("departments.retire_key")
    async def retire_key(self, department: str, kid: str, caller: Caller) -> Department:
        require_admin_of(caller, department, f"department {department}")
        dept = await self.get_department(department)
        key = next((k for k in dept.keys if k.kid == kid), None)
        if key is None:
            raise NotFound(f"{quote(department)} has no key {quote(kid)}", reason="KEY_NOT_FOUND")
        async with self.hub.db.begin() as conn:
            await catalog_store.put_key(conn, department, replace(key, status=KeyStatus.RETIRED), now_us())
        await self.hub.registry_changed(department)
        await self._log_change(caller, "departments.retire_key", department, f"retired {key.use.value} key {kid}")
        return await self.get_department(department)

    @logs_refusal("departments.set_status")
    async def set_department_status(
        self, code: str, status: DepartmentStatus, reason: str, caller: Caller
    ) -> Department:
        await self.get_department(code)
        async with self.hub.db.begin() as conn:
            await catalog_store.set_department_status(conn, code, status.value, now_us())
        await self.hub.registry_changed(code)
        await self._log_change(caller, "departments.set_status", code, f"status {status.value}: {reason}")
        return await self.get_department(code)

    # --- held roles --------------------------------------------------------------------------------

    @logs_refusal("departments.get_roles")
    async def get_department_roles(self, code: str, caller: Caller) -> DepartmentRoles:
        """What a department and its officers hold (hub admins and auditors: any; dept admins: their own)."""
        if not _may_see(caller, code):
            raise PermissionDenied(
                f"you act for {caller.department}; only hub admins and auditors may read the roles of {code}",
                reason="NOT_OWNER",
            )
        return await self._held_roles(code)

    async def _held_roles(self, code: str) -> DepartmentRoles:
        await self.get_department(code)
        async with self.hub.db.read() as conn:
            stored = await role_store.list_role_sets(conn, code)
        return department_roles(code, stored, self.hub.settings.hub_department)

    @logs_refusal("departments.set_roles")
    async def set_department_roles(
        self,
        code: str,
        caller: Caller,
        *,
        roles: Iterable[str],
        officer_id: str = "",
        reset: bool = False,
        reason: str = "",
    ) -> DepartmentRoles:
        """Record (or with `reset` forget) the roles of a department or of one officer of it; hub admins only."""
        if not caller.has(Role.HUB_ADMIN):
            raise PermissionDenied("only a hub admin changes which roles a department holds", reason="NOT_HUB_ADMIN")
        hub_department = self.hub.settings.hub_department
        wanted = parse_roles(roles)
        if reset:
            check_officer_id(officer_id)
        else:
            check_role_set(code, officer_id, wanted, hub_department)
        before = await self._held_roles(code)
        async with self.hub.db.begin() as conn:
            if reset:
                await role_store.delete_role_set(conn, code, officer_id)
            else:
                await role_store.put_role_set(conn, RoleSet(code, officer_id, wanted, _who(caller), now_us()))
        await self.hub.registry_changed()
        after = await self._held_roles(code)
        target = f"{code}/{officer_id}" if officer_id else code
        summary = f"roles {_role_summary(after, officer_id)} (were {_role_summary(before, officer_id)})"
        await self._log_change(
            caller, "departments.set_roles", target, summary + (f": {reason[:200]}" if reason else "")
        )
        return after

    # --- datasets ----------------------------------------------------------------------------------

    @logs_refusal("catalog.register_dataset")
    async def register_dataset(
        self, ds: Dataset, caller: Caller, *, dry_run: bool = False
    ) -> tuple[Dataset, Registered]:
        require_admin_of(caller, ds.owner, f"dataset {ds.code}")
        if self.hub.keyring.department(ds.owner) is None:
            await self.hub.registry_changed()
            if self.hub.keyring.department(ds.owner) is None:
                raise InvalidArgument(
                    f"dataset {ds.code} names owner {ds.owner!r}, which is not a registered department",
                    reason="UNKNOWN_OWNER",
                    violations=[FieldViolation("owner", f"no department {ds.owner!r}")],
                )
        async with self.hub.db.begin() as conn:
            current = await catalog_store.get_dataset(conn, ds.code)
            if current is None:
                stored, result = ds, Registered("created")
            else:
                old = current.dataset
                if old.owner != ds.owner:
                    require_admin_of(caller, old.owner, f"dataset {ds.code}")
                # A spec that does not state a version means "the next one"; compare against the current.
                candidate = ds if ds.version != "1.0" or old.version == "1.0" else replace(ds, version=old.version)
                version = resolve_version(old, candidate)
                changes = tuple(f"{c.field}: {c.kind} ({c.detail})" for c in diff_schemas(old, candidate))
                stored = replace(candidate, version=version)
                if version == old.version:
                    outcome = "unchanged" if stored == old else "metadata_updated"
                else:
                    outcome = "major_bump" if stored.major > old.major else "minor_bump"
                result = Registered(outcome, changes)
            if not dry_run and result.outcome != "unchanged":
                await catalog_store.put_dataset_version(conn, stored, now_us(), caller.officer_id)
        if not dry_run and result.outcome != "unchanged":
            self.hub.current_datasets.clear()
            await self._log_change(
                caller,
                "catalog.register_dataset",
                ds.code,
                f"{result.outcome}: version {stored.version}",
                dataset=ds.code,
            )
        return stored, result

    async def get_dataset(self, code: str, version: str = "", *, conn: Reader | None = None) -> Dataset:
        """The dataset (newest version unless one is named); on `conn` when the caller already holds one."""
        if conn is None:
            async with self.hub.db.read() as own:
                return await self.get_dataset(code, version, conn=own)
        stored = await catalog_store.get_dataset(conn, code, version)
        if stored is None:
            what = f"version {version} of dataset {quote(code)}" if version else f"dataset {quote(code)}"
            raise NotFound(f"no {what} in the catalog; see `exchange catalog list`", reason="DATASET_NOT_FOUND")
        return stored.dataset

    async def current_dataset(self, code: str, *, conn: Reader | None = None) -> Dataset:
        """The current version, kept in memory between fetches (see `CurrentDatasets` for when it is reread)."""
        cache = self.hub.current_datasets
        ds = cache.get(code)
        if ds is None:
            generation = cache.generation
            ds = await self.get_dataset(code, conn=conn)
            cache.put(ds, generation)
        return ds

    @logs_refusal("catalog.set_status")
    async def set_dataset_status(self, code: str, status: str, caller: Caller) -> Dataset:
        ds = await self.get_dataset(code)
        require_admin_of(caller, ds.owner, f"dataset {code}")
        updated = replace(ds, status=DatasetStatus(status))
        async with self.hub.db.begin() as conn:
            await catalog_store.put_dataset_version(conn, updated, now_us(), caller.officer_id)
        self.hub.current_datasets.clear()
        await self._log_change(caller, "catalog.set_status", code, f"status {status}", dataset=code)
        return updated

    # --- service items -----------------------------------------------------------------------------

    @logs_refusal("items.register")
    async def register_service_item(self, item: ServiceItem, caller: Caller) -> Registered:
        datasets: dict[str, Dataset] = {}
        async with self.hub.db.read() as conn:
            for material in item.required_materials:
                stored = await catalog_store.get_dataset(conn, material.dataset)
                if stored is not None:
                    datasets[material.dataset] = stored.dataset
        problems = material_violations(item, datasets)
        for i, code in enumerate((item.lead_department, *item.co_reviewers)):
            if self.hub.keyring.department(code) is None:
                path = "lead_department" if i == 0 else f"co_reviewers[{i - 1}]"
                problems.append(FieldViolation(path, f"no department {quote(code)} is registered"))
        if problems:
            raise InvalidArgument(
                f"service item {item.code} refers to things the hub does not know",
                reason="INVALID_SERVICE_ITEM",
                violations=problems,
            )
        async with self.hub.db.begin() as conn:
            created = await catalog_store.put_service_item(conn, item, now_us())
        outcome = "created" if created else "updated"
        await self._log_change(caller, "items.register", item.code, f"{outcome} service item {item.name}")
        return Registered(outcome)

    async def get_service_item(self, code: str) -> ServiceItem:
        async with self.hub.db.read() as conn:
            item = await catalog_store.get_service_item(conn, code)
        if item is None:
            raise NotFound(f"no service item {quote(code)} is registered", reason="SERVICE_ITEM_NOT_FOUND")
        return item

    # --- grants ------------------------------------------------------------------------------------

    @logs_refusal("grants.create")
    async def create_grant(
        self,
        caller: Caller,
        *,
        consumer: str,
        dataset: str,
        fields: tuple[str, ...],
        service_items: tuple[str, ...] = (),
        valid_from_us: int = 0,
        valid_until_us: int = 0,
        rate_per_minute: int = 0,
        access_request_id: str = "",
    ) -> Grant:
        ds = await self.get_dataset(dataset)
        require_admin_of(caller, ds.owner, f"dataset {dataset}")
        problems: list[FieldViolation] = []
        if self.hub.keyring.department(consumer) is None:
            problems.append(FieldViolation("consumer", f"no department {quote(consumer)} is registered"))
        if not fields:
            problems.append(FieldViolation("fields", "name the fields granted (or '*' for all public and internal)"))
        for i, name in enumerate(fields):
            if name != "*" and not ds.schema.has_field(name):
                problems.append(FieldViolation(f"fields[{i}]", f"{dataset} has no field {quote(name)}"))
        if valid_until_us and valid_until_us <= max(valid_from_us, 0):
            problems.append(FieldViolation("valid_until_us", "must be after valid_from_us"))
        if rate_per_minute < 0:
            problems.append(FieldViolation("rate_per_minute", "must be 0 (unlimited) or more"))
        if problems:
            raise InvalidArgument(f"cannot grant {dataset} to {consumer}", reason="INVALID_GRANT", violations=problems)
        if ds.sharing_type == SharingType.NOT_SHARED:
            raise PermissionDenied(
                f"dataset {dataset} is not_shared ({ds.legal_basis or 'by law'}); it can never be granted",
                reason="DATASET_NOT_SHARED",
            )
        if ds.sharing_type == SharingType.CONDITIONAL:
            await self._require_approved_request(access_request_id, consumer, dataset, ds.owner)
        now = now_us()
        grant = Grant(
            id=f"g-{uuid.uuid4().hex[:16]}",
            consumer=consumer,
            dataset=dataset,
            fields=tuple(fields),
            service_items=tuple(service_items),
            valid_from_us=valid_from_us or now,
            valid_until_us=valid_until_us,
            rate_per_minute=rate_per_minute,
            status=GrantStatus.ACTIVE,
            granted_by=f"{caller.department}/{caller.officer_id}",
            access_request_id=access_request_id,
            created_at_us=now,
        )
        async with self.hub.db.begin() as conn:
            await grant_records.insert_grant(conn, grant)
        await self._log_change(
            caller, "grants.create", grant.id, f"{consumer} may read {', '.join(fields)}", dataset=dataset
        )
        return grant

    async def _require_approved_request(self, request_id: str, consumer: str, dataset: str, owner: str) -> None:
        """A conditional dataset is granted only on an approved access request of that consumer for it."""
        request = None
        if request_id:
            async with self.hub.db.read() as conn:
                request = await grant_records.get_access_request(conn, request_id)
        if (
            request is None
            or (request.consumer, request.dataset) != (consumer, dataset)
            or request.status != AccessRequestStatus.APPROVED
        ):
            raise PermissionDenied(
                f"dataset {dataset} is conditional: {consumer} must file an access request that {owner} approves "
                "(`exchange access-requests create`); the grant is created when it is approved",
                reason="ACCESS_REQUEST_REQUIRED",
            )

    async def list_grants(
        self,
        caller: Caller,
        *,
        consumer: str = "",
        dataset: str = "",
        include_inactive: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> list[Grant]:
        """Grants the caller may see: all for hub admins and auditors; a department's own otherwise."""
        everything = caller.has(Role.HUB_ADMIN) or caller.has(Role.AUDITOR)
        async with self.hub.db.read() as conn:
            return await grant_records.list_grants(
                conn,
                consumer=consumer,
                dataset=dataset,
                visible_to="" if everything else caller.department,
                include_inactive=include_inactive,
                offset=offset,
                limit=limit,
            )

    async def get_grant(self, grant_id: str, caller: Caller | None = None) -> Grant:
        """One grant; with a caller, only if that caller may see it (else it does not exist for them)."""
        async with self.hub.db.read() as conn:
            grant = await grant_records.get_grant(conn, grant_id)
            owner = await catalog_store.get_dataset(conn, grant.dataset) if grant and caller else None
        parties = (grant.consumer if grant else "", owner.dataset.owner if owner else "")
        visible = caller is None or _may_see(caller, *parties)
        if grant is None or not visible:
            raise NotFound(f"no grant {quote(grant_id)} that you may see", reason="GRANT_NOT_FOUND")
        return grant

    @logs_refusal("grants.revoke")
    async def revoke_grant(self, grant_id: str, reason: str, caller: Caller) -> Grant:
        grant = await self.get_grant(grant_id)
        ds = await self.get_dataset(grant.dataset)
        require_admin_of(caller, ds.owner, f"the grant on {grant.dataset}")
        async with self.hub.db.begin() as conn:
            await grant_records.revoke_grant(conn, grant_id, now_us(), reason)
        await self._log_change(caller, "grants.revoke", grant_id, reason or "revoked", dataset=grant.dataset)
        return await self.get_grant(grant_id)

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
        require_admin_of(caller, caller.department, "an access request")
        if ds.sharing_type == SharingType.NOT_SHARED:
            raise PermissionDenied(
                f"dataset {dataset} is not_shared ({ds.legal_basis or 'by law'}); it can never be granted",
                reason="DATASET_NOT_SHARED",
            )
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
        now = now_us()
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
        if request is None or not _may_see(caller, request.owner, request.consumer):
            raise NotFound(f"no access request {quote(request_id)} that you may see", reason="ACCESS_REQUEST_NOT_FOUND")
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
        everything = caller.has(Role.HUB_ADMIN) or caller.has(Role.AUDITOR)
        async with self.hub.db.read() as conn:
            return await grant_records.list_access_requests(
                conn,
                owner=owner,
                consumer=consumer,
                either_party="" if everything else caller.department,
                status=status,
                overdue_at_us=now_us() if overdue_only else 0,
                offset=offset,
                limit=limit,
            )

    @logs_refusal("access_requests.decide")
    async def decide_access_request(
        self, request_id: str, *, approve: bool, reason: str, caller: Caller
    ) -> tuple[AccessRequest, Grant | None]:
        """The owner's department admin approves, creating the grant, or denies with a reason."""
        request = await self.get_access_request(request_id, caller)
        if not (caller.has(Role.DEPT_ADMIN) and caller.department == request.owner):
            # Widening the use of conditional data needs the provider's own consent, not the hub operator's.
            raise PermissionDenied(
                f"only a department admin of {request.owner}, which owns {request.dataset}, may answer this "
                f"request (you act for {caller.department})",
                reason="NOT_OWNER",
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
        decided = replace(
            request,
            status=AccessRequestStatus.APPROVED if approve else AccessRequestStatus.DENIED,
            decided_by=f"{caller.department}/{caller.officer_id}",
            decided_at_us=now_us(),
            decision_reason=reason.strip()[:2000],
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
            f"access_requests.{decided.status.value}",
            request.id,
            decided.decision_reason or decided.status.value,
            dataset=request.dataset,
        )
        return decided, grant

    # --- explained decisions -------------------------------------------------------------------------

    @logs_refusal("authz.explain")
    async def explain_access(
        self, caller: Caller, *, department: str, dataset: str, case_id: str, service_item: str, fields: tuple[str, ...]
    ) -> Decision:
        """Would an officer of `department` be allowed this fetch now, and why? Reads facts, fetches nothing."""
        if not (caller.has(Role.HUB_ADMIN) or caller.has(Role.AUDITOR)) and department != caller.department:
            raise PermissionDenied(
                f"you act for {caller.department}; only hub admins and auditors may ask about {department}",
                reason="NOT_OWNER",
            )
        if self.hub.keyring.department(department) is None:
            raise NotFound(f"no department {quote(department)} is registered", reason="DEPARTMENT_NOT_FOUND")
        ds = await self.get_dataset(dataset)
        officer = Caller(department, "(explain)", frozenset({Role.OFFICER}), "", 0)
        async with self.hub.db.read() as conn:
            facts = await grant_records.fetch_facts(
                conn,
                officer,
                ds,
                case_id=case_id,
                service_item=service_item,
                fields=fields,
                now_us=now_us(),
                subject=None,  # no key is asked about: the subject rule is left to the fetch itself
            )
        decision = decide_fetch(facts)
        await self._log_change(
            caller,
            "authz.explain",
            f"{department}/{dataset}/{case_id}",
            f"would be {'allowed' if decision.allowed else 'denied: ' + decision.reason}",
            dataset=dataset,
        )
        return decision


def _may_see(caller: Caller, *departments: str) -> bool:
    """Hub admins and auditors see every request; others only those their department is party to."""
    return caller.has(Role.HUB_ADMIN) or caller.has(Role.AUDITOR) or caller.department in departments


def _who(caller: Caller) -> str:
    return f"{caller.department}/{caller.officer_id}"[:200]


def _role_summary(held: DepartmentRoles, officer_id: str) -> str:
    """The department's or one officer's set, as the change's log entry says it."""
    if officer_id:
        own = held.officers.get(officer_id)
        return describe(own, inherited_from=held.department)
    return describe(held.roles, default=held.is_default)


def _check_key(key: DepartmentKey, path: str) -> None:
    try:
        public = load_public_key(key.public_key_pem)
        algorithm = algorithm_for(public)
    except InvalidArgument as error:
        raise InvalidArgument(
            f"{path}: {error.message}", reason="KEY_INVALID", violations=[FieldViolation(path, error.message)]
        ) from None
    if algorithm != key.algorithm:
        raise InvalidArgument(
            f"{path}: the key is {algorithm} but is registered as {key.algorithm}",
            reason="KEY_ALGORITHM_MISMATCH",
            violations=[FieldViolation(f"{path}.algorithm", f"expected {algorithm}")],
        )
