"""Administrative changes to the registry: departments, keys, datasets, service items and grants.

Each operation checks who may make it, applies the catalog's rules (validation,
schema versioning), stores it, and writes an access-log entry describing the change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from catalog.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
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
from exchange.audit.entry import AccessLogEntry
from exchange.auth.authz import Grant, GrantStatus
from exchange.auth.identity import Caller, Role
from exchange.auth.keys import algorithm_for, load_public_key
from exchange.clock import now_us
from exchange.hub import Hub
from exchange.storage import catalog_store, grant_store


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


class Registry:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def _log_change(self, caller: Caller, action: str, target: str, summary: str, **extra: str) -> None:
        await self.hub.record(
            AccessLogEntry(
                time_us=now_us(),
                request_id=uuid.uuid4().hex,
                action=action,
                caller_department=caller.department,
                officer_id=caller.officer_id,
                officer_role=",".join(sorted(r.value for r in caller.roles)),
                dataset=extra.pop("dataset", ""),
                decision="allow",
                details={"target": target, "summary": summary, **extra},
            )
        )

    # --- departments and keys ----------------------------------------------------------------------

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
            raise NotFound(f"no department {code!r} is registered", reason="DEPARTMENT_NOT_FOUND")
        return dept

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

    async def retire_key(self, department: str, kid: str, caller: Caller) -> Department:
        require_admin_of(caller, department, f"department {department}")
        dept = await self.get_department(department)
        key = next((k for k in dept.keys if k.kid == kid), None)
        if key is None:
            raise NotFound(f"{department} has no key {kid!r}", reason="KEY_NOT_FOUND")
        async with self.hub.db.begin() as conn:
            await catalog_store.put_key(conn, department, replace(key, status=KeyStatus.RETIRED), now_us())
        await self.hub.registry_changed(department)
        await self._log_change(caller, "departments.retire_key", department, f"retired {key.use.value} key {kid}")
        return await self.get_department(department)

    async def set_department_status(
        self, code: str, status: DepartmentStatus, reason: str, caller: Caller
    ) -> Department:
        await self.get_department(code)
        async with self.hub.db.begin() as conn:
            await catalog_store.set_department_status(conn, code, status.value, now_us())
        await self.hub.registry_changed(code)
        await self._log_change(caller, "departments.set_status", code, f"status {status.value}: {reason}")
        return await self.get_department(code)

    # --- datasets ----------------------------------------------------------------------------------

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
            await self._log_change(
                caller,
                "catalog.register_dataset",
                ds.code,
                f"{result.outcome}: version {stored.version}",
                dataset=ds.code,
            )
        return stored, result

    async def get_dataset(self, code: str, version: str = "") -> Dataset:
        async with self.hub.db.read() as conn:
            stored = await catalog_store.get_dataset(conn, code, version)
        if stored is None:
            what = f"version {version} of dataset {code!r}" if version else f"dataset {code!r}"
            raise NotFound(f"no {what} in the catalog; see `exchange catalog list`", reason="DATASET_NOT_FOUND")
        return stored.dataset

    async def set_dataset_status(self, code: str, status: str, caller: Caller) -> Dataset:
        ds = await self.get_dataset(code)
        require_admin_of(caller, ds.owner, f"dataset {code}")
        updated = replace(ds, status=DatasetStatus(status))
        async with self.hub.db.begin() as conn:
            await catalog_store.put_dataset_version(conn, updated, now_us(), caller.officer_id)
        await self._log_change(caller, "catalog.set_status", code, f"status {status}", dataset=code)
        return updated

    # --- service items -----------------------------------------------------------------------------

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
                problems.append(FieldViolation(path, f"no department {code!r} is registered"))
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
            raise NotFound(f"no service item {code!r} is registered", reason="SERVICE_ITEM_NOT_FOUND")
        return item

    # --- grants ------------------------------------------------------------------------------------

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
            problems.append(FieldViolation("consumer", f"no department {consumer!r} is registered"))
        if not fields:
            problems.append(FieldViolation("fields", "name the fields granted (or '*' for all public and internal)"))
        for i, name in enumerate(fields):
            if name != "*" and not ds.schema.has_field(name):
                problems.append(FieldViolation(f"fields[{i}]", f"{dataset} has no field {name!r}"))
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
        if ds.sharing_type == SharingType.CONDITIONAL and not access_request_id:
            raise PermissionDenied(
                f"dataset {dataset} is conditional: {consumer} must file an access request that {ds.owner} approves",
                reason="ACCESS_REQUEST_REQUIRED",
            )
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
            await grant_store.insert_grant(conn, grant)
        await self._log_change(
            caller, "grants.create", grant.id, f"{consumer} may read {', '.join(fields)}", dataset=dataset
        )
        return grant

    async def get_grant(self, grant_id: str) -> Grant:
        async with self.hub.db.read() as conn:
            grant = await grant_store.get_grant(conn, grant_id)
        if grant is None:
            raise NotFound(f"no grant {grant_id!r}", reason="GRANT_NOT_FOUND")
        return grant

    async def revoke_grant(self, grant_id: str, reason: str, caller: Caller) -> Grant:
        grant = await self.get_grant(grant_id)
        ds = await self.get_dataset(grant.dataset)
        require_admin_of(caller, ds.owner, f"the grant on {grant.dataset}")
        async with self.hub.db.begin() as conn:
            await grant_store.revoke_grant(conn, grant_id, now_us(), reason)
        await self._log_change(caller, "grants.revoke", grant_id, reason or "revoked", dataset=grant.dataset)
        return await self.get_grant(grant_id)


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
