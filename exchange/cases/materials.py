"""The material set of a case: each required material fetched once, stored by content, read by every reviewer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from catalog.model import Dataset, ServiceItem
from exchange import localtime
from exchange.errors import FailedPrecondition, NotFound, quote
from exchange.provenance import Provenance

# Licence status code meaning "valid" (GB/T licence catalogues: 01 valid, 02 suspended, 03 revoked, ...).
STATUS_VALID = "01"


@dataclass(frozen=True)
class Material:
    """One version of one material held by a case, with where it came from (never the document itself)."""

    case_id: str
    dataset: str
    key: str
    version: int
    digest: str
    fields: tuple[str, ...]
    issuer: str
    dataset_version: str
    issued_at_us: int
    kid: str
    signature: bytes
    content_digest: str
    fetched_at_us: int
    fetched_by: str
    valid_until_us: int
    status_code: str
    current: bool
    subject_id: str = ""
    receipt_index: int = 0
    receipt_leaf_hash: bytes = b""
    receipt_origin: str = ""
    # Format 2: the issuer's signed envelope, and the content address of the stored disclosures of
    # ``fields`` (a JSON list of the disclosure strings), so the stored copy re-verifies later.
    format: int = 1
    envelope_json: bytes = b""
    disclosures_digest: str = ""

    def provenance(self, disclosures: tuple[bytes, ...] = ()) -> Provenance:
        """Where the stored copy came from, as a fetch answers it (the disclosures are stored apart)."""
        return Provenance(
            issuer=self.issuer,
            dataset=self.dataset,
            dataset_version=self.dataset_version,
            key=self.key,
            issued_at_us=self.issued_at_us,
            kid=self.kid,
            signature=self.signature,
            content_digest=self.content_digest,
            fetched_at_us=self.fetched_at_us,
            format=self.format,
            envelope_json=self.envelope_json,
            disclosures=disclosures,
        )

    def expired_at(self, now_us: int) -> bool:
        """Whether the material's validity ended before ``now_us``."""
        return bool(self.valid_until_us) and self.valid_until_us <= now_us


@dataclass(frozen=True)
class MaterialStatus:
    """What the issuer says about a material now (the cheap re-check before a decision)."""

    found: bool
    valid: bool
    status_code: str
    valid_until_us: int


def disclosures_bundle(disclosures: tuple[bytes, ...]) -> bytes:
    """The disclosures of a material as one stored JSON list of their strings (each is already JCS)."""
    return json.dumps([d.decode("utf-8") for d in disclosures], ensure_ascii=False).encode("utf-8")


def disclosures_from_bundle(bundle: bytes, fields: Iterable[str]) -> tuple[bytes, ...]:
    """The stored disclosures of the given fields only (a reader sees no more than its grant allows)."""
    wanted = set(fields)
    items = [text.encode("utf-8") for text in json.loads(bundle)]
    return tuple(item for item in items if json.loads(item)[1] in wanted)


def content_digest(document_json: bytes) -> str:
    """The content address of a stored document: SHA-256 of its canonical JSON, hex."""
    return hashlib.sha256(document_json).hexdigest()


def _date_end_us(value: Any) -> int:
    """End of a validity date: the licence is valid through that whole local day (the hub's time_zone)."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return 0
    return int(localtime.end_of_day(day).timestamp() * 1_000_000)


def validity_of(dataset: Dataset, document: Mapping[str, Any]) -> tuple[str, int]:
    """Status code and validity end the issuer's document declares (empty and 0 when it has none)."""
    status = str(document.get(dataset.status_field, "") or "") if dataset.status_field else ""
    valid_until = _date_end_us(document.get(dataset.validity_field)) if dataset.validity_field else 0
    return status, valid_until


def required_material(item: ServiceItem, dataset: str, case_id: str) -> None:
    """NotFound unless ``item`` requires ``dataset``: a case holds only the materials its item needs."""
    if not any(m.dataset == dataset for m in item.required_materials):
        needed = ", ".join(m.dataset for m in item.required_materials) or "none"
        raise NotFound(
            f"service item {item.code} of case {case_id} does not require {quote(dataset)} (it requires: {needed})",
            reason="MATERIAL_NOT_REQUIRED",
            metadata={"case": case_id, "dataset": dataset},
        )


def missing_mandatory(item: ServiceItem, held: set[str]) -> tuple[str, ...]:
    """Mandatory materials of ``item`` that the case does not hold yet."""
    return tuple(m.dataset for m in item.required_materials if m.mandatory and m.dataset not in held)


def refuse_if_not_valid(material: Material, status: MaterialStatus) -> None:
    """FailedPrecondition naming the material when its issuer no longer vouches for it."""
    if status.found and status.valid:
        return
    if not status.found:
        why = f"{material.issuer} no longer has {material.dataset} {material.key}"
    else:
        code = status.status_code or "unknown"
        when = ""
        if status.valid_until_us:
            when = f", valid until {localtime.show(status.valid_until_us)}"
        why = f"{material.issuer} reports {material.dataset} {material.key} as status {code}{when}"
    raise FailedPrecondition(
        f"case {material.case_id} cannot be approved: material {material.dataset} (version {material.version}) "
        f"is no longer valid: {why}; fetched at status {material.status_code or 'unknown'}. "
        "Ask the applicant about it, refresh the material, or reject the case",
        reason="MATERIAL_NO_LONGER_VALID",
        metadata={"case": material.case_id, "dataset": material.dataset, "status_code": status.status_code},
    )
