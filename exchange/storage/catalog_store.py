"""Departments (with their keys), datasets (every version) and service items."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.model import Dataset, Department, DepartmentKey, KeyStatus, KeyUse, ServiceItem
from catalog.specs import (
    dataset_to_dict,
    department_to_dict,
    parse_dataset,
    parse_department,
    parse_service_item,
    service_item_to_dict,
)
from exchange.storage import tables as t
from exchange.storage.db import Reader


@dataclass(frozen=True)
class StoredKey:
    """A department key with the times the catalog model does not carry."""

    department: str
    key: DepartmentKey
    added_at_us: int
    retired_at_us: int


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _search_text(ds: Dataset) -> str:
    words = [ds.code, ds.title, ds.description, ds.theme, *ds.keywords, *ds.schema.names]
    # The resource-catalogue fields: found by resource code, classification (资源分类) and provider code.
    words += [ds.resource_code, *ds.classification, ds.provider_code]
    words += [f.description for f in ds.schema.fields]
    return " ".join(words).lower()


# --- departments -----------------------------------------------------------------------------------


async def put_department(conn: AsyncConnection, dept: Department, now_us: int) -> bool:
    """Insert or update a department (its keys are stored apart); True when it was new."""
    spec = _dumps(department_to_dict(replace(dept, keys=())))
    values = {
        "name": dept.name,
        "name_en": dept.name_en,
        "status": dept.status.value,
        "adapter_endpoint": dept.adapter_endpoint or "",
        "spec_json": spec,
        "updated_at_us": now_us,
    }
    found = (await conn.execute(sa.select(t.departments.c.code).where(t.departments.c.code == dept.code))).first()
    if found:
        await conn.execute(t.departments.update().where(t.departments.c.code == dept.code).values(**values))
    else:
        await conn.execute(t.departments.insert().values(code=dept.code, registered_at_us=now_us, **values))
    for key in dept.keys:
        await put_key(conn, dept.code, key, now_us)
    return found is None


async def put_key(conn: AsyncConnection, department: str, key: DepartmentKey, now_us: int) -> None:
    """Add a key, or update the status of a key with the same kid."""
    where = sa.and_(t.department_keys.c.department == department, t.department_keys.c.kid == key.kid)
    found = (await conn.execute(sa.select(t.department_keys.c.kid).where(where))).first()
    retired = now_us if key.status == KeyStatus.RETIRED else 0
    if found:
        await conn.execute(
            t.department_keys.update().where(where).values(status=key.status.value, retired_at_us=retired)
        )
        return
    await conn.execute(
        t.department_keys.insert().values(
            department=department,
            kid=key.kid,
            use=key.use.value,
            algorithm=key.algorithm,
            public_key_pem=key.public_key_pem,
            status=key.status.value,
            added_at_us=now_us,
            retired_at_us=retired,
        )
    )


async def get_department(conn: AsyncConnection, code: str) -> Department | None:
    row = (await conn.execute(sa.select(t.departments).where(t.departments.c.code == code))).first()
    if row is None:
        return None
    keys = await list_keys(conn, code)
    return replace(_department(row), keys=tuple(k.key for k in keys))


def _department(row: sa.Row[tuple[object, ...]]) -> Department:
    data = json.loads(row.spec_json)
    data["status"] = row.status
    return parse_department(data)


async def list_departments(conn: AsyncConnection, *, offset: int = 0, limit: int = 1000) -> list[Department]:
    rows = (
        await conn.execute(sa.select(t.departments).order_by(t.departments.c.code).offset(offset).limit(limit))
    ).all()
    keys = await list_keys(conn)
    by_dept: dict[str, list[DepartmentKey]] = {}
    for k in keys:
        by_dept.setdefault(k.department, []).append(k.key)
    return [replace(_department(r), keys=tuple(by_dept.get(r.code, ()))) for r in rows]


async def list_keys(conn: AsyncConnection, department: str | None = None) -> list[StoredKey]:
    query = sa.select(t.department_keys).order_by(t.department_keys.c.department, t.department_keys.c.added_at_us)
    if department is not None:
        query = query.where(t.department_keys.c.department == department)
    rows = (await conn.execute(query)).all()
    return [
        StoredKey(
            department=r.department,
            key=DepartmentKey(
                kid=r.kid,
                use=KeyUse(r.use),
                algorithm=r.algorithm,
                public_key_pem=r.public_key_pem,
                status=KeyStatus(r.status),
            ),
            added_at_us=r.added_at_us,
            retired_at_us=r.retired_at_us,
        )
        for r in rows
    ]


async def set_department_status(conn: AsyncConnection, code: str, status: str, now_us: int) -> None:
    await conn.execute(
        t.departments.update().where(t.departments.c.code == code).values(status=status, updated_at_us=now_us)
    )


# --- datasets --------------------------------------------------------------------------------------


async def put_dataset_version(conn: AsyncConnection, ds: Dataset, now_us: int, by: str) -> None:
    """Store a version and make it the current one."""
    await conn.execute(t.datasets.update().where(t.datasets.c.code == ds.code).values(is_current=False))
    values = {
        "major": ds.major,
        "minor": ds.minor,
        "is_current": True,
        "owner": ds.owner,
        "status": ds.status.value,
        "sharing_type": ds.sharing_type.value,
        "kind": ds.kind.value,
        "search_text": _search_text(ds),
        "spec_json": _dumps(dataset_to_dict(ds)),
        "registered_at_us": now_us,
        "registered_by": by,
    }
    where = sa.and_(t.datasets.c.code == ds.code, t.datasets.c.version == ds.version)
    if (await conn.execute(sa.select(t.datasets.c.code).where(where))).first():
        await conn.execute(t.datasets.update().where(where).values(**values))
    else:
        await conn.execute(t.datasets.insert().values(code=ds.code, version=ds.version, **values))


@dataclass(frozen=True)
class StoredDataset:
    dataset: Dataset
    registered_at_us: int
    registered_by: str


@functools.lru_cache(maxsize=512)
def _parsed_dataset(spec_json: str) -> Dataset:
    """Parse a stored spec once per distinct text: every fetch reads the row, and parsing was its costliest part."""
    return parse_dataset(json.loads(spec_json))


@functools.lru_cache(maxsize=512)
def _parsed_item(spec_json: str) -> ServiceItem:
    """Same for service items (the objects are frozen, so sharing them is safe)."""
    return parse_service_item(json.loads(spec_json))


def _stored(row: sa.Row[tuple[object, ...]]) -> StoredDataset:
    return StoredDataset(_parsed_dataset(row.spec_json), row.registered_at_us, row.registered_by)


async def get_dataset(conn: Reader, code: str, version: str = "") -> StoredDataset | None:
    query = sa.select(t.datasets).where(t.datasets.c.code == code)
    query = query.where(t.datasets.c.version == version) if version else query.where(t.datasets.c.is_current)
    row = (await conn.execute(query)).first()
    return _stored(row) if row else None


async def list_datasets(
    conn: AsyncConnection,
    *,
    owner: str = "",
    status: str = "",
    sharing_type: str = "",
    query_text: str = "",
    offset: int = 0,
    limit: int = 100,
) -> list[StoredDataset]:
    query = sa.select(t.datasets).where(t.datasets.c.is_current)
    if owner:
        query = query.where(t.datasets.c.owner == owner)
    if status:
        query = query.where(t.datasets.c.status == status)
    if sharing_type:
        query = query.where(t.datasets.c.sharing_type == sharing_type)
    for word in query_text.lower().split():
        # Bound parameter, and LIKE wildcards in the user's words are escaped.
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(t.datasets.c.search_text.like(f"%{escaped}%", escape="\\"))
    rows = (await conn.execute(query.order_by(t.datasets.c.code).offset(offset).limit(limit))).all()
    return [_stored(r) for r in rows]


async def list_dataset_versions(conn: AsyncConnection, code: str) -> list[StoredDataset]:
    rows = (
        await conn.execute(
            sa.select(t.datasets).where(t.datasets.c.code == code).order_by(t.datasets.c.major, t.datasets.c.minor)
        )
    ).all()
    return [_stored(r) for r in rows]


# --- service items ---------------------------------------------------------------------------------


async def put_service_item(conn: AsyncConnection, item: ServiceItem, now_us: int) -> bool:
    values = {
        "name": item.name,
        "lead_department": item.lead_department,
        "basic_code": item.basic_code,
        "implementation_code": item.implementation_code,
        "spec_json": _dumps(service_item_to_dict(item)),
        "updated_at_us": now_us,
    }
    found = (await conn.execute(sa.select(t.service_items.c.code).where(t.service_items.c.code == item.code))).first()
    if found:
        await conn.execute(t.service_items.update().where(t.service_items.c.code == item.code).values(**values))
    else:
        await conn.execute(t.service_items.insert().values(code=item.code, registered_at_us=now_us, **values))
    return found is None


def service_item_from_spec(spec_json: str) -> ServiceItem:
    """A service item from its stored spec (parsed once per distinct text)."""
    return _parsed_item(spec_json)


async def get_service_item(conn: AsyncConnection, code: str) -> ServiceItem | None:
    row = (await conn.execute(sa.select(t.service_items).where(t.service_items.c.code == code))).first()
    return _parsed_item(row.spec_json) if row else None


async def list_service_items(
    conn: AsyncConnection,
    *,
    after: str = "",
    department: str = "",
    national_code: str = "",
    offset: int = 0,
    limit: int = 100,
) -> list[ServiceItem]:
    """Service items by code: those after the code ``after`` (keyset), led or co-reviewed by ``department``,
    whose basic or implementation code is ``national_code``.

    Co-reviewers live only in the stored spec: the statement keeps the items whose spec names the department
    as a JSON string at all, and the exact test runs here, batch by batch, until the page is full.
    """
    c = t.service_items.c
    found: list[ServiceItem] = []
    while True:
        query = sa.select(c.code, c.lead_department, c.spec_json).order_by(c.code)
        if after:
            query = query.where(c.code > after)
        if national_code:
            query = query.where(sa.or_(c.basic_code == national_code, c.implementation_code == national_code))
        if department:
            quoted = json.dumps(department, ensure_ascii=False)
            query = query.where(sa.or_(c.lead_department == department, c.spec_json.contains(quoted, autoescape=True)))
        batch = (await conn.execute(query.offset(offset).limit(limit))).all()
        for row in batch:
            item = _parsed_item(row.spec_json)
            if not department or department in (item.lead_department, *item.co_reviewers):
                found.append(item)
        if len(batch) < limit or len(found) >= limit or not department:
            return found[:limit]
        after, offset = batch[-1].code, 0
