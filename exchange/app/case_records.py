"""Cases and their materials as the case model holds them, read and written through
`exchange.storage.case_store`, and the facts of a case that purpose binding checks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.cases import lifecycle
from exchange.cases.codec import case_from_json, case_to_json
from exchange.cases.materials import Material
from exchange.cases.model import Case
from exchange.cases.parties import APPLICANT, CaseParty
from exchange.clock import from_datetime
from exchange.policy import CaseFacts
from exchange.storage import case_store, status_store
from exchange.storage.case_store import CaseQuery, Row, Savings
from exchange.storage.db import Reader

__all__ = ["OPEN_STATES", "CaseFlag", "CaseQuery", "Savings", "StoredCase"]

OPEN_STATES = tuple(sorted(state.value for state in lifecycle.OPEN_STATES))


@dataclass(frozen=True)
class StoredCase:
    """A case with what is stored beside it: its title and its savings counters."""

    case: Case
    title: str
    savings: Savings


async def case_facts_and_item_spec(conn: Reader, case_id: str) -> tuple[CaseFacts, str | None] | None:
    """What purpose binding checks (state, service item, involved departments, parties) and the stored spec of
    the case's service item (None when unregistered), in one statement."""
    rows = await case_store.case_facts_rows(conn, case_id)
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
    columns = {
        "id": case.id,
        "service_item": case.service_item,
        "applicant_id": case.applicant_id,
        "lead_department": case.lead_department,
        "submitted_at_us": from_datetime(case.submitted_at),
        "request_id": request_key,
        **_columns(case, now_us),
    }
    departments = [(case.lead_department, "lead"), *((d, "reviewer") for d in case.reviewers)]
    await case_store.insert_case(conn, columns, departments)
    await insert_parties(conn, case.id, case.other_parties, now_us)


async def insert_parties(conn: AsyncConnection, case_id: str, parties: Sequence[CaseParty], now_us: int) -> None:
    """Record parties of a case besides its applicant (the applicant is cases.applicant_id)."""
    rows = [
        {"relation": p.relation, "party_id": p.party_id, "kind": p.kind, "name": p.name, "added_at_us": now_us}
        for p in parties
    ]
    await case_store.insert_parties(conn, case_id, rows)


async def get_case(conn: AsyncConnection, case_id: str) -> Case | None:
    """One case, whole."""
    text = await case_store.get_case_json(conn, case_id)
    return case_from_json(text) if text is not None else None


async def update_case(conn: AsyncConnection, case: Case, read_version: int, now_us: int) -> bool:
    """Store ``case`` only if the stored one is still at ``read_version`` (optimistic concurrency)."""
    return await case_store.update_case(conn, case.id, read_version, _columns(case, now_us))


async def list_stored_cases(conn: AsyncConnection, where: CaseQuery, *, open_only: bool = False) -> list[StoredCase]:
    """Cases with their titles and savings matching `where` (and, if `open_only`, open), newest first (one query)."""
    if open_only:
        states = tuple(s for s in OPEN_STATES if not where.states or s in where.states)
        if not states:
            return []
        where = replace(where, states=states)
    rows = await case_store.list_cases(conn, where)
    return [
        StoredCase(case_from_json(r.case_json), r.title, Savings(r.materials_fetched, r.reads, r.submissions_avoided))
        for r in rows
    ]


# --- materials -----------------------------------------------------------------------------------------


def _material_json(m: Material) -> str:
    data = asdict(m)
    data["signature"] = m.signature.hex()
    data["receipt_leaf_hash"] = m.receipt_leaf_hash.hex()
    data["envelope_json"] = m.envelope_json.decode("utf-8")
    data["fields"] = list(m.fields)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _material(row: Row) -> Material:
    data = json.loads(row.material_json)
    data["signature"] = bytes.fromhex(data["signature"])
    data["receipt_leaf_hash"] = bytes.fromhex(data["receipt_leaf_hash"])
    data["envelope_json"] = data.get("envelope_json", "").encode("utf-8")
    data["fields"] = tuple(data["fields"])
    data["current"] = bool(row.is_current)
    return Material(**data)


async def add_material(conn: AsyncConnection, material: Material) -> None:
    """Add a new version of a material; older versions stay, no longer current (IntegrityError on a race)."""
    await case_store.add_material(
        conn,
        {
            "case_id": material.case_id,
            "dataset": material.dataset,
            "version": material.version,
            "key": material.key,
            "digest": material.digest,
            "material_json": _material_json(material),
            "fetched_at_us": material.fetched_at_us,
        },
    )


async def list_materials(conn: AsyncConnection, case_id: str) -> list[Material]:
    """Every version of every material of a case, by dataset then version."""
    return [_material(r) for r in await case_store.list_materials(conn, case_id)]


async def get_material(conn: AsyncConnection, case_id: str, dataset: str, version: int = 0) -> Material | None:
    """One version of a material (the current one when ``version`` is 0)."""
    row = await case_store.get_material(conn, case_id, dataset, version)
    return _material(row) if row else None


# --- flags on the open cases holding a document ------------------------------------------------------


@dataclass(frozen=True)
class CaseFlag:
    """What a change to a document raises on the open cases holding it: the new and the previous status, and why."""

    status_code: str
    previous_code: str
    source: str
    raised_at_us: int


async def flag_open_cases_holding(
    conn: AsyncConnection, dataset: str, key: str, flag: CaseFlag
) -> list[status_store.HeldLicence]:
    """Flag every open case holding the document (`dataset`, `key`) as a current material; the cases flagged."""
    held = await status_store.held_licences(conn, OPEN_STATES, dataset=dataset, key=key)
    for licence in held:
        await status_store.raise_flag(
            conn,
            licence.case_id,
            licence.dataset,
            licence.key,
            status_code=flag.status_code,
            previous_code=flag.previous_code,
            source=flag.source,
            now_us=flag.raised_at_us,
        )
    return held
