"""Cases, their departments, their parties, their material sets and the documents they hold
(content-addressed), as rows. The case model and the policy's facts are mapped from these rows by the
application (`exchange.app.case_records`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.storage import tables as t
from exchange.storage.db import Reader

Row = sa.Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class CaseQuery:
    """Which cases a list holds: in one of `states` (any when empty) and matching every other filter given."""

    states: tuple[str, ...] = ()
    # A department: the cases it is involved in.
    department: str = ""
    service_item: str = ""
    case_id: str = ""
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class Savings:
    """What a set of cases saved: upstream fetches made, reads served from cases, submissions avoided."""

    materials_fetched: int = 0
    reads_from_case: int = 0
    submissions_avoided: int = 0


# Built once: every fetch naming a case runs it, and building a select and its cache key costs ~50 µs a time.
_CASE_FACTS_AND_ITEM_SPEC = (
    sa.select(
        t.cases.c.service_item,
        t.cases.c.state,
        t.cases.c.lead_department,
        t.cases.c.applicant_id,
        t.case_departments.c.department,
        t.case_parties.c.relation,
        t.case_parties.c.party_id,
        t.service_items.c.spec_json,
    )
    .select_from(t.cases)
    .outerjoin(t.case_departments, t.case_departments.c.case_id == t.cases.c.id)
    .outerjoin(t.case_parties, t.case_parties.c.case_id == t.cases.c.id)
    .outerjoin(t.service_items, t.service_items.c.code == t.cases.c.service_item)
    .where(t.cases.c.id == sa.bindparam("case_id"))
)


async def case_facts_rows(conn: Reader, case_id: str) -> list[Row]:
    """A case's service item, state, lead, applicant, departments, parties and its item's stored spec, in one
    statement (a row per department and party; none when there is no such case)."""
    return list((await conn.execute(_CASE_FACTS_AND_ITEM_SPEC, {"case_id": case_id})).all())


# --- cases ---------------------------------------------------------------------------------------------


async def insert_case(
    conn: AsyncConnection, columns: Mapping[str, object], departments: Sequence[tuple[str, str]]
) -> None:
    """Store a new case and its departments as (department, role) (IntegrityError if its request_id was used)."""
    await conn.execute(t.cases.insert().values(**columns))
    case_id = columns["id"]
    await conn.execute(
        t.case_departments.insert(), [{"case_id": case_id, "department": d, "role": r} for d, r in departments]
    )


async def insert_parties(conn: AsyncConnection, case_id: str, parties: Sequence[Mapping[str, object]]) -> None:
    """Record parties of a case besides its applicant (relation, party_id, kind, name, added_at_us)."""
    if parties:
        await conn.execute(t.case_parties.insert(), [{"case_id": case_id, **p} for p in parties])


async def case_id_for_request(conn: AsyncConnection, request_key: str) -> str | None:
    """The case a create request with this key opened, if any."""
    row = (await conn.execute(sa.select(t.cases.c.id).where(t.cases.c.request_id == request_key))).first()
    return str(row.id) if row else None


async def get_case_json(conn: AsyncConnection, case_id: str) -> str | None:
    """One case, whole, as stored."""
    row = (await conn.execute(sa.select(t.cases.c.case_json).where(t.cases.c.id == case_id))).first()
    return str(row.case_json) if row else None


async def update_case(conn: AsyncConnection, case_id: str, read_version: int, columns: Mapping[str, object]) -> bool:
    """Store a case's columns only if the stored one is still at ``read_version`` (optimistic concurrency)."""
    result = await conn.execute(
        t.cases.update().where(t.cases.c.id == case_id, t.cases.c.version == read_version).values(**columns)
    )
    return bool(result.rowcount == 1)


async def set_title(conn: AsyncConnection, case_id: str, title: str) -> None:
    await conn.execute(t.cases.update().where(t.cases.c.id == case_id).values(title=title))


async def list_cases(conn: AsyncConnection, where: CaseQuery) -> list[Row]:
    """Cases (case_json, title, materials_fetched, reads, submissions_avoided) matching `where`, newest first
    (one query)."""
    c = t.cases.c
    query = sa.select(
        c.case_json,
        c.title,
        c.materials_fetched,
        (c.reads_from_case + _reads_of(c.id)).label("reads"),
        c.submissions_avoided,
    ).order_by(c.submitted_at_us.desc(), c.id)
    if where.case_id:
        query = query.where(c.id == where.case_id)
    if len(where.states) == 1:
        query = query.where(c.state == where.states[0])
    elif where.states:
        query = query.where(c.state.in_(where.states))
    if where.service_item:
        query = query.where(c.service_item == where.service_item)
    if where.department:
        d = t.case_departments.c
        query = query.where(c.id.in_(sa.select(d.case_id).where(d.department == where.department)))
    return list((await conn.execute(query.offset(where.offset).limit(where.limit))).all())


# --- savings -------------------------------------------------------------------------------------------

# Reads served from a case are counted from the access log, which records each one anyway: no extra write per read.
# The operation's name, and the name entries written before the one-policy renaming carry.
READ_ACTIONS = ("cases.material.read", "cases.read_material")


def _reads_filter(case_ids: sa.ColumnElement[str] | sa.Select[tuple[str]]) -> sa.ColumnElement[bool]:
    log = t.log_entries.c
    target = log.case_id == case_ids if isinstance(case_ids, sa.ColumnElement) else log.case_id.in_(case_ids)
    return sa.and_(target, log.action.in_(READ_ACTIONS), log.decision == "allow")


def _reads_of(case_id: sa.ColumnElement[str]) -> sa.ScalarSelect[int]:
    """Allowed reads of one case's materials, as a correlated count over the access log."""
    return sa.select(sa.func.count()).select_from(t.log_entries).where(_reads_filter(case_id)).scalar_subquery()


async def add_savings(
    conn: AsyncConnection, case_id: str, *, fetched: int = 0, reads: int = 0, avoided: int = 0
) -> None:
    """Count what one case saved (increments, so concurrent writers never lose a count).

    ``reads`` is for reads the access log does not hold (imported history); the hub's own reads
    are counted from the log.
    """
    c = t.cases.c
    await conn.execute(
        t.cases.update()
        .where(c.id == case_id)
        .values(
            materials_fetched=c.materials_fetched + fetched,
            reads_from_case=c.reads_from_case + reads,
            submissions_avoided=c.submissions_avoided + avoided,
        )
    )


async def savings(conn: AsyncConnection, *, case_id: str = "", service_item: str = "") -> Savings:
    """Totals over one case, one service item, or every case."""
    c = t.cases.c
    conditions = [c.id == case_id] if case_id else []
    if service_item:
        conditions.append(c.service_item == service_item)
    totals = sa.select(
        sa.func.coalesce(sa.func.sum(c.materials_fetched), 0),
        sa.func.coalesce(sa.func.sum(c.reads_from_case), 0),
        sa.func.coalesce(sa.func.sum(c.submissions_avoided), 0),
    ).where(*conditions)
    fetched, imported_reads, avoided = (await conn.execute(totals)).one()
    reads_filter = (
        _reads_filter(sa.select(c.id).where(*conditions))
        if conditions
        else sa.and_(t.log_entries.c.action.in_(READ_ACTIONS), t.log_entries.c.decision == "allow")
    )
    reads = (await conn.execute(sa.select(sa.func.count()).select_from(t.log_entries).where(reads_filter))).scalar()
    return Savings(int(fetched), int(imported_reads) + int(reads or 0), int(avoided))


# --- materials and documents ---------------------------------------------------------------------------


async def put_document(conn: AsyncConnection, digest: str, document_json: bytes, now_us: int) -> None:
    """Store a document under its content address, once (two cases storing the same licence at once is fine)."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    await conn.execute(
        insert(t.documents)
        .values(digest=digest, document_json=document_json, stored_at_us=now_us)
        .on_conflict_do_nothing(index_elements=["digest"])
    )


async def get_document(conn: AsyncConnection, digest: str) -> bytes | None:
    row = (await conn.execute(sa.select(t.documents.c.document_json).where(t.documents.c.digest == digest))).first()
    return bytes(row.document_json) if row else None


async def add_material(conn: AsyncConnection, columns: Mapping[str, Any]) -> None:
    """Add a new version of a material; older versions stay, no longer current (IntegrityError on a race)."""
    m = t.case_materials.c
    await conn.execute(
        t.case_materials.update()
        .where(m.case_id == columns["case_id"], m.dataset == columns["dataset"])
        .values(is_current=False)
    )
    await conn.execute(t.case_materials.insert().values(is_current=True, **columns))


async def list_materials(conn: AsyncConnection, case_id: str) -> list[Row]:
    """Every version (material_json, is_current) of every material of a case, by dataset then version."""
    m = t.case_materials.c
    query = sa.select(m.material_json, m.is_current).where(m.case_id == case_id).order_by(m.dataset, m.version)
    return list((await conn.execute(query)).all())


async def get_material(conn: AsyncConnection, case_id: str, dataset: str, version: int = 0) -> Row | None:
    """One version (material_json, is_current) of a material (the current one when ``version`` is 0)."""
    m = t.case_materials.c
    query = sa.select(m.material_json, m.is_current).where(m.case_id == case_id, m.dataset == dataset)
    query = query.where(m.version == version) if version else query.where(m.is_current.is_(True))
    return (await conn.execute(query)).first()
