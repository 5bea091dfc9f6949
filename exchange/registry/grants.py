"""Grants: one consumer department may read some fields of one dataset, for some service items."""

from __future__ import annotations

import uuid

from catalog.model import SharingType
from exchange.app import grant_records
from exchange.auth.access_requests import AccessRequestStatus
from exchange.auth.identity import Caller
from exchange.clock import now_us
from exchange.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied, quote
from exchange.policy import Facts, Grant, GrantStatus, Thing, decide, enforce, enforce_list_scope, error_for
from exchange.registry.base import dataset_facts, logs_refusal
from exchange.registry.datasets import DatasetDesk
from exchange.storage import catalog_store
from exchange.storage.grant_store import GrantQuery


class GrantDesk(DatasetDesk):
    """Grants: created by the dataset's owner (conditional data only on an approved request), seen by parties."""

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
        enforce(caller, "grants.create", dataset_facts(ds))
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
        visible_to = enforce_list_scope(caller, "grants.list")
        status = "" if include_inactive else GrantStatus.ACTIVE.value
        where = GrantQuery(consumer, dataset, visible_to, status, offset, limit)
        async with self.hub.db.read() as conn:
            return await grant_records.list_grants(conn, where)

    async def get_grant(self, grant_id: str, caller: Caller | None = None) -> Grant:
        """One grant; with a caller, only if that caller may see it (else it does not exist for them)."""
        async with self.hub.db.read() as conn:
            grant = await grant_records.get_grant(conn, grant_id)
            owner = await catalog_store.get_dataset(conn, grant.dataset) if grant and caller else None
        missing = NotFound(f"no grant {quote(grant_id)} that you may see", reason="GRANT_NOT_FOUND")
        if grant is None:
            raise missing
        if caller is not None:
            parties = (grant.consumer, owner.dataset.owner if owner else "")
            decision = decide(caller, "grants.read", Facts(parties=parties, what=Thing("grant", grant_id)))
            if not decision.allowed:
                raise missing if decision.reason == missing.reason else error_for(decision)
        return grant

    @logs_refusal("grants.revoke")
    async def revoke_grant(self, grant_id: str, reason: str, caller: Caller) -> Grant:
        grant = await self.get_grant(grant_id)
        ds = await self.get_dataset(grant.dataset)
        enforce(caller, "grants.revoke", Facts(department=ds.owner, what=Thing("grant_on", grant.dataset)))
        async with self.hub.db.begin() as conn:
            await grant_records.revoke_grant(conn, grant_id, now_us(), reason)
        await self._log_change(caller, "grants.revoke", grant_id, reason or "revoked", dataset=grant.dataset)
        return await self.get_grant(grant_id)
