"""Cases, their departments, their material sets and the documents they hold (content-addressed)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.auth.authz import CaseFacts
from exchange.cases import lifecycle
from exchange.cases.codec import case_from_json, case_to_json
from exchange.cases.materials import Material
from exchange.cases.model import Case
from exchange.cases.parties import APPLICANT, CaseParty
from exchange.clock import from_datetime
from exchange.storage import tables as t
from exchange.storage.db import Reader

OPEN_STATES = tuple(sorted(state.value for state in lifecycle.OPEN_STATES))


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


async def case_facts_and_item_spec(conn: Reader, case_id: str) -> tuple[CaseFacts, str | None] | None:
    """What purpose binding checks (state, service item, involved departments, parties) and the stored spec of
    the case's service item (None when unregistered), in one statement (a row per department and party)."""
    rows = (await conn.execute(_CASE_FACTS_AND_ITEM_SPEC, {"case_id": case_id})).all()
    if not rows:
        return None
    row = rows[0]
    members = {r.department for r in rows if r.department is not None and r.department != row.lead_department}
    involved = (row.lead_department, *sorted(members))
    others = sorted({(r.relation, r.party_id) for r in rows if r.party_id is not None})
    parties = ((APPLICANT, row.applicant_id), *others)
    facts = CaseFacts(case_id, row.service_item, row.state in OPEN_STATES, row.state, involved, parties)
    return facts, row.spec_json


# --- cases ---------------------------------------------------------------------------------------------


def _columns(case: Case, now_us: int) -> dict[str, object]:
    return {
        "state": str(case.state),
        "version": case.version,
        "deadline_us": from_datetime(case.deadline) if case.deadline else 0,
        "updated_at_us": now_us,
        "case_json": case_to_json(case),
    }


async def insert_case(conn: AsyncConnection, case: Case, request_key: str | None, now_us: int) -> None:
    """Store a new case and who is involved in it (IntegrityError if ``request_key`` was used before)."""
    await conn.execute(
        t.cases.insert().values(
            id=case.id,
            service_item=case.service_item,
            applicant_id=case.applicant_id,
            lead_department=case.lead_department,
            submitted_at_us=from_datetime(case.submitted_at),
            request_id=request_key,
            **_columns(case, now_us),
        )
    )
    await conn.execute(
        t.case_departments.insert(),
        [{"case_id": case.id, "department": case.lead_department, "role": "lead"}]
        + [{"case_id": case.id, "department": d, "role": "reviewer"} for d in case.reviewers],
    )
    await insert_parties(conn, case.id, case.other_parties, now_us)


async def insert_parties(conn: AsyncConnection, case_id: str, parties: Sequence[CaseParty], now_us: int) -> None:
    """Record parties of a case besides its applicant (the applicant is cases.applicant_id)."""
    if parties:
        await conn.execute(
            t.case_parties.insert(),
            [
                {
                    "case_id": case_id,
                    "relation": p.relation,
                    "party_id": p.party_id,
                    "kind": p.kind,
                    "name": p.name,
                    "added_at_us": now_us,
                }
                for p in parties
            ],
        )


async def case_id_for_request(conn: AsyncConnection, request_key: str) -> str | None:
    """The case a create request with this key opened, if any."""
    row = (await conn.execute(sa.select(t.cases.c.id).where(t.cases.c.request_id == request_key))).first()
    return str(row.id) if row else None


async def get_case(conn: AsyncConnection, case_id: str) -> Case | None:
    """One case, whole."""
    row = (await conn.execute(sa.select(t.cases.c.case_json).where(t.cases.c.id == case_id))).first()
    return case_from_json(row.case_json) if row else None


async def update_case(conn: AsyncConnection, case: Case, read_version: int, now_us: int) -> bool:
    """Store ``case`` only if the stored one is still at ``read_version`` (optimistic concurrency)."""
    result = await conn.execute(
        t.cases.update()
        .where(t.cases.c.id == case.id, t.cases.c.version == read_version)
        .values(**_columns(case, now_us))
    )
    return bool(result.rowcount == 1)


@dataclass(frozen=True)
class StoredCase:
    """A case with what is stored beside it: its title and its savings counters."""

    case: Case
    title: str
    savings: Savings


async def list_cases(
    conn: AsyncConnection,
    *,
    state: str = "",
    department: str = "",
    service_item: str = "",
    open_only: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> list[Case]:
    """Cases matching every filter given, newest first."""
    found = await list_stored_cases(
        conn,
        state=state,
        department=department,
        service_item=service_item,
        open_only=open_only,
        offset=offset,
        limit=limit,
    )
    return [s.case for s in found]


async def list_stored_cases(
    conn: AsyncConnection,
    *,
    state: str = "",
    department: str = "",
    service_item: str = "",
    open_only: bool = False,
    offset: int = 0,
    limit: int = 100,
    case_id: str = "",
) -> list[StoredCase]:
    """Cases with their titles and savings, matching every filter given, newest first (one query)."""
    c = t.cases.c
    query = sa.select(
        c.case_json,
        c.title,
        c.materials_fetched,
        (c.reads_from_case + _reads_of(c.id)).label("reads"),
        c.submissions_avoided,
    ).order_by(c.submitted_at_us.desc(), c.id)
    if case_id:
        query = query.where(c.id == case_id)
    if state:
        query = query.where(t.cases.c.state == state)
    if open_only:
        query = query.where(t.cases.c.state.in_(OPEN_STATES))
    if service_item:
        query = query.where(t.cases.c.service_item == service_item)
    if department:
        members = sa.select(t.case_departments.c.case_id).where(t.case_departments.c.department == department)
        query = query.where(t.cases.c.id.in_(members))
    rows = (await conn.execute(query.offset(offset).limit(limit))).all()
    return [
        StoredCase(
            case_from_json(r.case_json),
            r.title,
            Savings(r.materials_fetched, r.reads, r.submissions_avoided),
        )
        for r in rows
    ]


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


def _material_json(m: Material) -> str:
    data = asdict(m)
    data["signature"] = m.signature.hex()
    data["receipt_leaf_hash"] = m.receipt_leaf_hash.hex()
    data["envelope_json"] = m.envelope_json.decode("utf-8")
    data["fields"] = list(m.fields)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _material(text: str, current: bool) -> Material:
    data = json.loads(text)
    data["signature"] = bytes.fromhex(data["signature"])
    data["receipt_leaf_hash"] = bytes.fromhex(data["receipt_leaf_hash"])
    data["envelope_json"] = data.get("envelope_json", "").encode("utf-8")
    data["fields"] = tuple(data["fields"])
    data["current"] = current
    return Material(**data)


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


async def add_material(conn: AsyncConnection, material: Material) -> None:
    """Add a new version of a material; older versions stay, no longer current (IntegrityError on a race)."""
    m = t.case_materials.c
    await conn.execute(
        t.case_materials.update()
        .where(m.case_id == material.case_id, m.dataset == material.dataset)
        .values(is_current=False)
    )
    await conn.execute(
        t.case_materials.insert().values(
            case_id=material.case_id,
            dataset=material.dataset,
            version=material.version,
            key=material.key,
            digest=material.digest,
            is_current=True,
            material_json=_material_json(material),
            fetched_at_us=material.fetched_at_us,
        )
    )


async def list_materials(conn: AsyncConnection, case_id: str) -> list[Material]:
    """Every version of every material of a case, by dataset then version."""
    m = t.case_materials.c
    rows = (
        await conn.execute(
            sa.select(m.material_json, m.is_current).where(m.case_id == case_id).order_by(m.dataset, m.version)
        )
    ).all()
    return [_material(r.material_json, bool(r.is_current)) for r in rows]


async def get_material(conn: AsyncConnection, case_id: str, dataset: str, version: int = 0) -> Material | None:
    """One version of a material (the current one when ``version`` is 0)."""
    m = t.case_materials.c
    query = sa.select(m.material_json, m.is_current).where(m.case_id == case_id, m.dataset == dataset)
    query = query.where(m.version == version) if version else query.where(m.is_current.is_(True))
    row = (await conn.execute(query)).first()
    return _material(row.material_json, bool(row.is_current)) if row else None
