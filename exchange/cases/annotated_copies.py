"""The annotated copy (加注件) of a case material: rendered for its purpose, signed by the hub, logged.

The copy shows the fields the caller may see (decided as a read of the material), stamped with the case,
the service item, the caller's department and officer, the time and the copy's validity, and a QR code
with the receipt of the material's fetch. The request is an access: its entry carries the copy's SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from catalog.model import Department, department_name
from exchange.annotated import Annotation, CopySigner, render_copy, template_for
from exchange.annotated.render import font_program
from exchange.audit.log import Receipt
from exchange.auth.identity import Caller
from exchange.cases.desk_base import DeskBase
from exchange.cases.material_desk import MaterialDesk
from exchange.cases.materials import Material
from exchange.clock import now_us
from exchange.errors import FailedPrecondition

if TYPE_CHECKING:
    from exchange.hub import Hub
    from exchange.registry import Registry

ACTION = "cases.material.annotated_copy"
_DAY_US = 86_400 * 1_000_000


def bilingual_name(department: Department) -> str:
    """The department as the bilingual copy names it: in Chinese, then in English where it has an English name."""
    return " / ".join(dict.fromkeys(department_name(department, language) for language in ("zh-CN", "en")))


@dataclass(frozen=True)
class AnnotatedCopy:
    """A signed annotated copy, the material it shows, and the receipt of the request that made it."""

    pdf: bytes
    sha256: str
    valid_until_us: int
    material: Material
    receipt: Receipt


def copy_validity(made_at_us: int, valid_days: int, licence_valid_until_us: int) -> int:
    """The copy is valid for `valid_days`, never past the licence's own validity."""
    end = made_at_us + valid_days * _DAY_US
    return min(end, licence_valid_until_us) if licence_valid_until_us else end


class AnnotatedCopyDesk(DeskBase):
    """GetAnnotatedCopy: decide as a read of the material, render, sign, log the copy's digest."""

    def __init__(self, hub: Hub, registry: Registry, materials: MaterialDesk) -> None:
        super().__init__(hub, registry)
        self.materials = materials
        self._signer: CopySigner | None = None

    def signer(self) -> CopySigner:
        """The hub's document signer, loaded once from the configured key and certificates."""
        if self._signer is None:
            s = self.hub.settings
            self._signer = CopySigner.from_pem(
                s.read_file("document_signing_key"),
                s.read_file("document_signing_cert"),
                s.read_file("tls_client_ca"),
                location=s.hub_name,
            )
        return self._signer

    async def annotated_copy(self, caller: Caller, case_id: str, dataset: str, version: int = 0) -> AnnotatedCopy:
        """The signed annotated copy of a case material for the caller's purpose (the case's service item)."""
        case, material, visible = await self.materials.readable(caller, ACTION, case_id, dataset, version)
        subject = (material.subject_id or case.applicant_id)[:256]
        made_at = now_us()
        async with self._refusals(caller, ACTION, case.id, dataset) as seen:
            seen.case = case
            if material.expired_at(made_at):
                raise FailedPrecondition(
                    f"{dataset} of case {case.id} expired; refresh the material (AttachMaterial with refresh) "
                    "before making a copy of it",
                    reason="MATERIAL_EXPIRED",
                    metadata={"case": case.id, "subject_id": subject},
                )
            ds = await self.registry.get_dataset(dataset)
            item = await self.registry.get_service_item(case.service_item)
            department = self.hub.keyring.department(caller.department)
            valid_until = copy_validity(made_at, self.hub.settings.annotated_copy_valid_days, material.valid_until_us)
            annotation = Annotation(
                case_id=case.id,
                item_code=item.code,
                item_name=item.name,
                department=caller.department,
                department_name=bilingual_name(department) if department else caller.department,
                officer=caller.officer_id,
                made_at_us=made_at,
                valid_until_us=valid_until,
                dataset=dataset,
                key=material.key,
                issuer=material.issuer,
                material_version=material.version,
                receipt_index=material.receipt_index,
                receipt_leaf_hash=material.receipt_leaf_hash.hex(),
                receipt_origin=material.receipt_origin,
            )
            signer = self.signer()
            font = await asyncio.to_thread(font_program, self.hub.settings.annotated_copy_font)
            # Laying out and subsetting the font takes CPU time: off the event loop.
            unsigned = await asyncio.to_thread(render_copy, template_for(ds), visible, annotation, font=font)
            pdf = await signer.sign(unsigned, reason=f"加注件 annotated copy: {annotation.purpose_line}")
        digest = hashlib.sha256(pdf).hexdigest()
        receipt = await self._log(
            caller,
            ACTION,
            case,
            case.id,
            subject_id=subject,
            dataset=dataset,
            dataset_version=material.dataset_version,
            fields=tuple(visible),
            response_digest=digest,
            details={
                "version": str(material.version),
                "copy_sha256": digest,
                "copy_valid_until_us": str(valid_until),
                "upstream_call": "false",
            },
        )
        return AnnotatedCopy(pdf, digest, valid_until, material, receipt)
