"""What the Python client returns for approval cases: cases, their materials (with where each came from and
its access-log receipt) and annotated copies, as plain dataclasses made from the wire messages here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange.audit.receipt import Receipt
from exchange.provenance import Provenance
from exchange.v1 import cases_pb2, common_pb2
from exchange.wire import from_message


def receipt_from_proto(r: common_pb2.Receipt) -> Receipt:
    return Receipt(r.log_index, r.leaf_hash, r.log_origin)


def provenance_from_proto(p: common_pb2.Provenance) -> Provenance:
    return from_message(Provenance, p, format=p.format or 1)


@dataclass(frozen=True)
class SavingsInfo:
    """Materials fetched from issuers, reads served from cases, submissions the applicant did not make."""

    materials_fetched: int
    reads_from_case: int
    submissions_avoided: int


def savings_from_proto(s: cases_pb2.Savings) -> SavingsInfo:
    return from_message(SavingsInfo, s)


@dataclass(frozen=True)
class CaseStep:
    """One step of a case's timeline: who did what, when."""

    at_us: int
    department: str
    officer: str
    kind: str
    detail: str


@dataclass(frozen=True)
class OpinionInfo:
    department: str
    officer: str
    verdict: str
    comment: str
    at_us: int


@dataclass(frozen=True)
class PartyInfo:
    """A party of a case: its relation (applicant, legal_representative, premises_owner, spouse, guardian,
    agent, other), its identifier (resident id or USCC), its kind (person/organisation; empty to infer) and name."""

    relation: str
    party_id: str
    kind: str = ""
    name: str = ""


def party_to_proto(p: PartyInfo) -> cases_pb2.CaseParty:
    return cases_pb2.CaseParty(relation=p.relation, party_id=p.party_id, kind=p.kind, name=p.name)


@dataclass(frozen=True)
class CaseInfo:
    """A case as the hub reports it; pass `version` back as expected_version."""

    id: str
    service_item: str
    title: str
    applicant_id: str
    lead_department: str
    reviewers: tuple[str, ...]
    state: str
    version: int
    deadline_us: int
    deadline_state: str
    working_days_left: float
    correction_missing: tuple[str, ...]
    not_accepted_reasons: tuple[str, ...]
    opinions: tuple[OpinionInfo, ...]
    timeline: tuple[CaseStep, ...]
    savings: SavingsInfo
    # The applicant first, then the other parties.
    parties: tuple[PartyInfo, ...] = ()
    # Supervision's 红黄牌: none, yellow (nearly overdue) or red (overdue).
    warning_level: str = "none"
    applicant_name: str = ""


def case_from_proto(c: cases_pb2.Case) -> CaseInfo:
    return from_message(
        CaseInfo,
        c,
        warning_level=c.warning_level or "none",
        correction_missing=tuple(c.correction.missing),
        opinions=tuple(from_message(OpinionInfo, o) for o in c.opinions),
        timeline=tuple(from_message(CaseStep, e) for e in c.events),
        savings=savings_from_proto(c.savings),
        parties=tuple(from_message(PartyInfo, p) for p in c.parties),
    )


@dataclass(frozen=True)
class MaterialInfo:
    """One version of a case material: provenance always, the document only from get_material."""

    case_id: str
    dataset: str
    key: str
    version: int
    current: bool
    digest: str
    fields: tuple[str, ...]
    provenance: Provenance
    valid_until_us: int
    status_code: str
    fetched_by: str
    data: dict[str, Any] | None = None
    receipt: Receipt | None = None


def material_from_proto(m: cases_pb2.Material, receipt: Receipt | None = None) -> MaterialInfo:
    return from_message(
        MaterialInfo,
        m,
        provenance=provenance_from_proto(m.provenance),
        data=json.loads(m.document_json) if m.document_json else None,
        receipt=receipt,
    )


@dataclass(frozen=True)
class AnnotatedCopyInfo:
    """A signed annotated copy: the PDF, its SHA-256 (as logged), its validity, the material and the receipt."""

    pdf: bytes
    sha256: str
    valid_until_us: int
    material: MaterialInfo
    receipt: Receipt

    def save(self, path: Path) -> None:
        """Write the PDF to `path`."""
        path.write_bytes(self.pdf)
