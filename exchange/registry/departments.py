"""Departments and their keys, and the roles the hub holds for each department and officer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from catalog.model import Department, DepartmentKey, DepartmentStatus, KeyStatus
from exchange.auth.held_roles import (
    DepartmentRoles,
    RoleSet,
    check_officer_id,
    check_role_set,
    department_roles,
    describe,
    parse_roles,
)
from exchange.auth.identity import Caller
from exchange.auth.keys import algorithm_for, load_public_key
from exchange.clock import now_us
from exchange.errors import FieldViolation, InvalidArgument, NotFound, quote
from exchange.policy import Facts, Thing, enforce
from exchange.registry.base import Registered, RegistryBase, logs_refusal, who_of
from exchange.storage import catalog_store, role_store


class DepartmentDesk(RegistryBase):
    """Departments, their keys and the roles the hub holds for them."""

    # --- departments and keys ----------------------------------------------------------------------

    @logs_refusal("departments.register")
    async def register_department(self, dept: Department, caller: Caller) -> Registered:
        enforce(caller, "departments.register", Facts(department=dept.code, what=Thing("department", dept.code)))
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

    @logs_refusal("departments.key.add")
    async def add_key(self, department: str, key: DepartmentKey, caller: Caller) -> Department:
        enforce(caller, "departments.key.add", Facts(department=department, what=Thing("department", department)))
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
        await self._log_change(caller, "departments.key.add", department, f"added {key.use.value} key {key.kid}")
        return await self.get_department(department)

    @logs_refusal("departments.key.retire")
    async def key_to_retire(self, department: str, kid: str, caller: Caller) -> tuple[Department, DepartmentKey]:
        """The department and its key `kid`, for a caller who may retire it (a confirmation page shows them)."""
        return await self._key_to_retire(department, kid, caller)

    async def _key_to_retire(self, department: str, kid: str, caller: Caller) -> tuple[Department, DepartmentKey]:
        enforce(caller, "departments.key.retire", Facts(department=department, what=Thing("department", department)))
        dept = await self.get_department(department)
        key = next((k for k in dept.keys if k.kid == kid), None)
        if key is None:
            raise NotFound(f"{quote(department)} has no key {quote(kid)}", reason="KEY_NOT_FOUND")
        return dept, key

    @logs_refusal("departments.key.retire")
    async def retire_key(self, department: str, kid: str, caller: Caller) -> Department:
        _, key = await self._key_to_retire(department, kid, caller)
        async with self.hub.db.begin() as conn:
            await catalog_store.put_key(conn, department, replace(key, status=KeyStatus.RETIRED), now_us())
        await self.hub.registry_changed(department)
        await self._log_change(caller, "departments.key.retire", department, f"retired {key.use.value} key {kid}")
        return await self.get_department(department)

    @logs_refusal("departments.status.set")
    async def set_department_status(
        self, code: str, status: DepartmentStatus, reason: str, caller: Caller
    ) -> Department:
        enforce(caller, "departments.status.set", Facts(department=code, what=Thing("department", code)))
        await self.get_department(code)
        async with self.hub.db.begin() as conn:
            await catalog_store.set_department_status(conn, code, status.value, now_us())
        await self.hub.registry_changed(code)
        await self._log_change(caller, "departments.status.set", code, f"status {status.value}: {reason}")
        return await self.get_department(code)

    # --- held roles --------------------------------------------------------------------------------

    @logs_refusal("departments.roles.read")
    async def get_department_roles(self, code: str, caller: Caller) -> DepartmentRoles:
        """What a department and its officers hold (hub admins and auditors: any; dept admins: their own)."""
        enforce(caller, "departments.roles.read", Facts(department=code, what=Thing("roles_of", code)))
        return await self._held_roles(code)

    async def _held_roles(self, code: str) -> DepartmentRoles:
        await self.get_department(code)
        async with self.hub.db.read() as conn:
            stored = await role_store.list_role_sets(conn, code)
        return department_roles(code, stored, self.hub.settings.hub_department)

    @logs_refusal("departments.roles.set")
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
        enforce(caller, "departments.roles.set", Facts(department=code, what=Thing("roles_of", code)))
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
                await role_store.put_role_set(conn, RoleSet(code, officer_id, wanted, who_of(caller), now_us()))
        await self.hub.registry_changed()
        after = await self._held_roles(code)
        target = f"{code}/{officer_id}" if officer_id else code
        summary = f"roles {_role_summary(after, officer_id)} (were {_role_summary(before, officer_id)})"
        await self._log_change(
            caller, "departments.roles.set", target, summary + (f": {reason[:200]}" if reason else "")
        )
        return after


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
