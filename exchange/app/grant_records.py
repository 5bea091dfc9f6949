"""Grants and access requests as the policy sees them, read and written through `exchange.storage.grant_store`,
and the facts `decide_fetch` needs, gathered fresh from the database."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.model import Dataset, ServiceItem, SharingType
from exchange.app import case_records
from exchange.auth.access_requests import AccessRequest, AccessRequestStatus
from exchange.auth.identity import Caller
from exchange.errors import NotFound, quote
from exchange.policy import CaseFacts, FetchFacts, Grant, GrantStatus
from exchange.storage import catalog_store, grant_store
from exchange.storage.db import Reader
from exchange.storage.grant_store import AccessRequestQuery, GrantQuery, Row


def grant_from_row(row: Row) -> Grant:
    return Grant(
        id=row.id,
        consumer=row.consumer,
        dataset=row.dataset,
        fields=tuple(json.loads(row.fields_json)),
        service_items=tuple(json.loads(row.service_items_json)),
        valid_from_us=row.valid_from_us,
        valid_until_us=row.valid_until_us,
        rate_per_minute=row.rate_per_minute,
        status=GrantStatus(row.status),
        granted_by=row.granted_by,
        access_request_id=row.access_request_id,
        created_at_us=row.created_at_us,
        revoked_at_us=row.revoked_at_us,
        revoke_reason=row.revoke_reason,
    )


def grant_columns(grant: Grant) -> dict[str, object]:
    """The columns a new grant is stored with (revocation columns keep their defaults)."""
    return {
        "id": grant.id,
        "consumer": grant.consumer,
        "dataset": grant.dataset,
        "fields_json": json.dumps(list(grant.fields)),
        "service_items_json": json.dumps(list(grant.service_items)),
        "valid_from_us": grant.valid_from_us,
        "valid_until_us": grant.valid_until_us,
        "rate_per_minute": grant.rate_per_minute,
        "status": grant.status.value,
        "granted_by": grant.granted_by,
        "access_request_id": grant.access_request_id,
        "created_at_us": grant.created_at_us,
    }


async def insert_grant(conn: AsyncConnection, grant: Grant) -> None:
    await grant_store.insert_grant(conn, grant_columns(grant))


async def get_grant(conn: AsyncConnection, grant_id: str) -> Grant | None:
    row = await grant_store.get_grant(conn, grant_id)
    return grant_from_row(row) if row else None


async def grants_for(conn: Reader, consumer: str, dataset: str) -> list[Grant]:
    """Every grant (live or not) of one consumer on one dataset; the decision tells them apart."""
    return [grant_from_row(r) for r in await grant_store.grants_for(conn, consumer, dataset)]


async def list_grants(conn: AsyncConnection, where: GrantQuery) -> list[Grant]:
    return [grant_from_row(r) for r in await grant_store.list_grants(conn, where)]


async def revoke_grant(conn: AsyncConnection, grant_id: str, now_us: int, reason: str) -> None:
    await grant_store.revoke_grant(conn, grant_id, now_us, reason, status=GrantStatus.REVOKED.value)


# --- access requests -------------------------------------------------------------------------------

_SPEC_FIELDS = (
    "fields",
    "service_items",
    "legal_basis",
    "justification",
    "requested_by",
    "valid_until_us",
    "rate_per_minute",
    "decided_by",
    "decision_reason",
    "grant_id",
    "answered_late",
)


def access_request_from_row(row: Row) -> AccessRequest:
    spec = json.loads(row.spec_json)
    return AccessRequest(
        id=row.id,
        consumer=row.consumer,
        dataset=row.dataset,
        owner=row.owner,
        fields=tuple(spec["fields"]),
        service_items=tuple(spec["service_items"]),
        legal_basis=spec["legal_basis"],
        justification=spec["justification"],
        requested_by=spec["requested_by"],
        requested_at_us=row.requested_at_us,
        answer_due_us=row.answer_due_us,
        status=AccessRequestStatus(row.status),
        valid_until_us=spec.get("valid_until_us", 0),
        rate_per_minute=spec.get("rate_per_minute", 0),
        decided_by=spec.get("decided_by", ""),
        decided_at_us=row.decided_at_us,
        decision_reason=spec.get("decision_reason", ""),
        grant_id=spec.get("grant_id", ""),
        answered_late=bool(spec.get("answered_late", False)),
    )


def _spec_json(request: AccessRequest) -> str:
    spec = {name: getattr(request, name) for name in _SPEC_FIELDS}
    spec["fields"], spec["service_items"] = list(request.fields), list(request.service_items)
    return json.dumps(spec, ensure_ascii=False)


async def insert_access_request(conn: AsyncConnection, request: AccessRequest) -> None:
    await grant_store.insert_access_request(
        conn,
        {
            "id": request.id,
            "consumer": request.consumer,
            "dataset": request.dataset,
            "owner": request.owner,
            "status": request.status.value,
            "spec_json": _spec_json(request),
            "requested_at_us": request.requested_at_us,
            "answer_due_us": request.answer_due_us,
            "decided_at_us": request.decided_at_us,
        },
    )


async def get_access_request(conn: AsyncConnection, request_id: str) -> AccessRequest | None:
    row = await grant_store.get_access_request(conn, request_id)
    return access_request_from_row(row) if row else None


async def decide_access_request(conn: AsyncConnection, decided: AccessRequest) -> bool:
    """Store the owner's answer if the request is still pending; False when someone answered first."""
    return await grant_store.update_access_request(
        conn,
        decided.id,
        {"status": decided.status.value, "spec_json": _spec_json(decided), "decided_at_us": decided.decided_at_us},
        only_if_status=AccessRequestStatus.PENDING.value,
    )


async def reopen_access_request(conn: AsyncConnection, pending: AccessRequest) -> None:
    """Undo an approval whose grant could not be created."""
    await grant_store.update_access_request(
        conn,
        pending.id,
        {"status": AccessRequestStatus.PENDING.value, "spec_json": _spec_json(pending), "decided_at_us": 0},
    )


async def set_access_request_grant(conn: AsyncConnection, approved: AccessRequest) -> None:
    await grant_store.update_access_request(conn, approved.id, {"spec_json": _spec_json(approved)})


async def list_access_requests(
    conn: AsyncConnection, where: AccessRequestQuery, *, overdue_at_us: int = 0
) -> list[AccessRequest]:
    """Requests matching `where`; with `overdue_at_us`, only the pending ones past their due time then."""
    if overdue_at_us:
        pending = AccessRequestStatus.PENDING.value
        if where.status and where.status != pending:
            return []  # only a pending request can be overdue
        where = replace(where, status=pending, due_before_us=overdue_at_us)
    return [access_request_from_row(r) for r in await grant_store.list_access_requests(conn, where)]


# --- the facts of a fetch --------------------------------------------------------------------------


async def fetch_facts(
    conn: Reader,
    caller: Caller,
    ds: Dataset,
    *,
    case_id: str,
    service_item: str,
    fields: tuple[str, ...],
    now_us: int,
    subject: str | None,
) -> FetchFacts:
    """Everything `decide_fetch` needs, read fresh from the database (for a fetch and for an explanation)."""
    case: CaseFacts | None = None
    item: ServiceItem | None = None
    if case_id:
        # The case, its departments and its service item in one statement: each statement is a thread hop.
        found = await case_records.case_facts_and_item_spec(conn, case_id)
        if found is None:
            raise NotFound(f"no case {quote(case_id)}; a fetch must name an existing case", reason="CASE_NOT_FOUND")
        case, item_spec = found
        item = catalog_store.service_item_from_spec(item_spec) if item_spec is not None else None
    grants = await grants_for(conn, caller.department, ds.code)
    request_status = ""
    if not grants and ds.sharing_type == SharingType.CONDITIONAL:
        request_status = await grant_store.latest_request_status(conn, caller.department, ds.code)
    return FetchFacts(
        caller=caller,
        dataset=ds,
        requested_fields=fields,
        now_us=now_us,
        case=case,
        service_item=item,
        subject=subject,
        purpose_service_item=service_item,
        grants=grants,
        access_request_status=request_status,
    )
