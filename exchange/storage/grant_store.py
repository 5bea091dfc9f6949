"""Grants and access requests. Grants are read from the database on every request, never cached,
so a revocation bites on the next request on every replica."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.errors import NotFound, quote
from catalog.model import Dataset, ServiceItem, SharingType
from exchange.auth.access_requests import AccessRequest, AccessRequestStatus
from exchange.auth.authz import CaseFacts, FetchFacts, Grant, GrantStatus
from exchange.auth.identity import Caller
from exchange.storage import case_store, catalog_store
from exchange.storage import tables as t
from exchange.storage.db import Reader


def _grant(row: sa.Row[tuple[object, ...]]) -> Grant:
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


async def insert_grant(conn: AsyncConnection, grant: Grant) -> None:
    await conn.execute(
        t.grants.insert().values(
            id=grant.id,
            consumer=grant.consumer,
            dataset=grant.dataset,
            fields_json=json.dumps(list(grant.fields)),
            service_items_json=json.dumps(list(grant.service_items)),
            valid_from_us=grant.valid_from_us,
            valid_until_us=grant.valid_until_us,
            rate_per_minute=grant.rate_per_minute,
            status=grant.status.value,
            granted_by=grant.granted_by,
            access_request_id=grant.access_request_id,
            created_at_us=grant.created_at_us,
        )
    )


async def get_grant(conn: AsyncConnection, grant_id: str) -> Grant | None:
    row = (await conn.execute(sa.select(t.grants).where(t.grants.c.id == grant_id))).first()
    return _grant(row) if row else None


# Built once: every fetch runs it (see `case_store._CASE_FACTS_AND_ITEM_SPEC`).
_GRANTS_FOR = sa.select(t.grants).where(
    t.grants.c.consumer == sa.bindparam("consumer"), t.grants.c.dataset == sa.bindparam("dataset")
)


async def grants_for(conn: Reader, consumer: str, dataset: str) -> list[Grant]:
    """Every grant (live or not) of one consumer on one dataset; the decision tells them apart."""
    rows = (await conn.execute(_GRANTS_FOR, {"consumer": consumer, "dataset": dataset})).all()
    return [_grant(r) for r in rows]


async def list_grants(
    conn: AsyncConnection,
    *,
    consumer: str = "",
    dataset: str = "",
    datasets_owned_by: str = "",
    visible_to: str = "",
    include_inactive: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> list[Grant]:
    query = sa.select(t.grants)
    if consumer:
        query = query.where(t.grants.c.consumer == consumer)
    if dataset:
        query = query.where(t.grants.c.dataset == dataset)
    if datasets_owned_by:
        owned = sa.select(t.datasets.c.code).where(t.datasets.c.owner == datasets_owned_by)
        query = query.where(t.grants.c.dataset.in_(owned))
    if visible_to:
        # A department admin sees the grants it holds and the grants on its own datasets.
        owned = sa.select(t.datasets.c.code).where(t.datasets.c.owner == visible_to)
        query = query.where(sa.or_(t.grants.c.consumer == visible_to, t.grants.c.dataset.in_(owned)))
    if not include_inactive:
        query = query.where(t.grants.c.status == GrantStatus.ACTIVE.value)
    rows = (await conn.execute(query.order_by(t.grants.c.created_at_us).offset(offset).limit(limit))).all()
    return [_grant(r) for r in rows]


async def revoke_grant(conn: AsyncConnection, grant_id: str, now_us: int, reason: str) -> None:
    await conn.execute(
        t.grants.update()
        .where(t.grants.c.id == grant_id)
        .values(status=GrantStatus.REVOKED.value, revoked_at_us=now_us, revoke_reason=reason)
    )


async def latest_request_status(conn: Reader, consumer: str, dataset: str) -> str:
    """Status of the newest access request of `consumer` for `dataset` ('' when none)."""
    row = (
        await conn.execute(
            sa.select(t.access_requests.c.status)
            .where(t.access_requests.c.consumer == consumer, t.access_requests.c.dataset == dataset)
            .order_by(t.access_requests.c.requested_at_us.desc())
            .limit(1)
        )
    ).first()
    return str(row.status) if row else ""


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


def _access_request(row: sa.Row[tuple[object, ...]]) -> AccessRequest:
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
    await conn.execute(
        t.access_requests.insert().values(
            id=request.id,
            consumer=request.consumer,
            dataset=request.dataset,
            owner=request.owner,
            status=request.status.value,
            spec_json=_spec_json(request),
            requested_at_us=request.requested_at_us,
            answer_due_us=request.answer_due_us,
            decided_at_us=request.decided_at_us,
        )
    )


async def get_access_request(conn: AsyncConnection, request_id: str) -> AccessRequest | None:
    row = (await conn.execute(sa.select(t.access_requests).where(t.access_requests.c.id == request_id))).first()
    return _access_request(row) if row else None


async def decide_access_request(conn: AsyncConnection, decided: AccessRequest) -> bool:
    """Store the owner's answer if the request is still pending; False when someone answered first."""
    result = await conn.execute(
        t.access_requests.update()
        .where(t.access_requests.c.id == decided.id, t.access_requests.c.status == AccessRequestStatus.PENDING.value)
        .values(status=decided.status.value, spec_json=_spec_json(decided), decided_at_us=decided.decided_at_us)
    )
    return bool(result.rowcount)


async def reopen_access_request(conn: AsyncConnection, pending: AccessRequest) -> None:
    """Undo an approval whose grant could not be created."""
    await conn.execute(
        t.access_requests.update()
        .where(t.access_requests.c.id == pending.id)
        .values(status=AccessRequestStatus.PENDING.value, spec_json=_spec_json(pending), decided_at_us=0)
    )


async def set_access_request_grant(conn: AsyncConnection, approved: AccessRequest) -> None:
    await conn.execute(
        t.access_requests.update().where(t.access_requests.c.id == approved.id).values(spec_json=_spec_json(approved))
    )


async def list_access_requests(
    conn: AsyncConnection,
    *,
    owner: str = "",
    consumer: str = "",
    either_party: str = "",
    status: str = "",
    overdue_at_us: int = 0,
    offset: int = 0,
    limit: int = 100,
) -> list[AccessRequest]:
    """Requests by owner, consumer or either side; `overdue_at_us` keeps pending ones past their due time."""
    c = t.access_requests.c
    query = sa.select(t.access_requests)
    if owner:
        query = query.where(c.owner == owner)
    if consumer:
        query = query.where(c.consumer == consumer)
    if either_party:
        query = query.where(sa.or_(c.owner == either_party, c.consumer == either_party))
    if status:
        query = query.where(c.status == status)
    if overdue_at_us:
        query = query.where(c.status == AccessRequestStatus.PENDING.value, c.answer_due_us < overdue_at_us)
    rows = (await conn.execute(query.order_by(c.requested_at_us, c.id).offset(offset).limit(limit))).all()
    return [_access_request(r) for r in rows]


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
        found = await case_store.case_facts_and_item_spec(conn, case_id)
        if found is None:
            raise NotFound(f"no case {quote(case_id)}; a fetch must name an existing case", reason="CASE_NOT_FOUND")
        case, item_spec = found
        item = catalog_store.service_item_from_spec(item_spec) if item_spec is not None else None
    grants = await grants_for(conn, caller.department, ds.code)
    request_status = ""
    if not grants and ds.sharing_type == SharingType.CONDITIONAL:
        request_status = await latest_request_status(conn, caller.department, ds.code)
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
