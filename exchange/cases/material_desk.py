"""The material set of a case: each material fetched once from its issuer, then read from the case by every reviewer.

Concurrent requests for one material share one upstream fetch (in this process; hub replicas
race on the database's primary key and keep the first stored copy).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import TYPE_CHECKING, Any

from adapters.signing import canonical_json
from exchange.app import case_records, grant_records
from exchange.attempts import Deadline, record_despite_cancellation
from exchange.audit.log import Receipt
from exchange.auth.identity import Caller
from exchange.cases.desk_base import DeskBase
from exchange.cases.lifecycle import is_open
from exchange.cases.materials import (
    Material,
    content_digest,
    disclosures_bundle,
    disclosures_from_bundle,
    required_material,
    validity_of,
)
from exchange.cases.model import Case
from exchange.cases.singleflight import SingleFlight
from exchange.clock import now_us
from exchange.errors import (
    ExchangeError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from exchange.policy import decide_fetch
from exchange.storage import IntegrityError, case_store
from exchange.storage.locks import held_across_replicas

if TYPE_CHECKING:
    from exchange.fetch import Fetcher
    from exchange.hub import Hub
    from exchange.registry import Registry


class MaterialDesk(DeskBase):
    """AttachMaterial, GetMaterial and ListMaterials."""

    def __init__(self, hub: Hub, registry: Registry, fetcher: Fetcher) -> None:
        super().__init__(hub, registry)
        self.fetcher = fetcher
        self._flights: SingleFlight[tuple[Material, bool]] = SingleFlight()

    async def attach(
        self, caller: Caller, case_id: str, dataset: str, key: str, *, refresh: bool, time_budget: float | None = None
    ) -> tuple[Material, bool]:
        """Fetch a required material into the case once; concurrent requests share one upstream fetch."""
        deadline = Deadline.after(time_budget)
        async with self._refusals(caller, "cases.material.attach", case_id, dataset) as seen:
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "cases.material.attach")
            if not is_open(case.state):
                raise FailedPrecondition(
                    f"case {case.id} is {case.state}; materials are attached only to open cases",
                    reason="CASE_NOT_OPEN",
                    metadata={"case": case.id, "state": str(case.state)},
                )
            item = await self.registry.get_service_item(case.service_item)
            required_material(item, dataset, case.id)
            async with self.hub.db.read() as conn:
                held = await case_records.get_material(conn, case.id, dataset)
            if held is not None and not refresh:
                if key and key != held.key:
                    raise FailedPrecondition(
                        f"case {case.id} already holds {dataset} {held.key}; to replace it with {key}, "
                        "attach with refresh",
                        reason="MATERIAL_KEY_DIFFERS",
                    )
                await self._log_shared(caller, case, held, "already_held")
                return held, False
            key = key or (held.key if held else "")
            if not key:
                raise InvalidArgument(
                    f"name the {dataset} to fetch (its key)",
                    reason="MISSING_FIELD",
                    violations=[FieldViolation("key", "required")],
                )
        held_version = held.version if held else 0
        ran_here = False

        async def fetch_once() -> tuple[Material, bool]:
            nonlocal ran_here
            ran_here = True
            return await self._fetch_material(caller, case, dataset, key, held_version, time_budget)

        try:
            (material, fetched), _ = await self._flights.run((case.id, dataset, held_version), fetch_once)
        except asyncio.CancelledError:
            # The shared fetch goes on in its own task and logs its own entry; this caller's attempt ends here.
            reason, outcome, how = deadline.interruption()
            entry = self._entry(
                caller,
                "cases.material.attach",
                case,
                case.id,
                dataset=dataset,
                reason=reason,
                outcome=outcome,
                message=f"{how} while the fetch of {dataset} was in flight (it goes on for the case)",
                details={"shared": "false" if ran_here else "true"},
            )
            await record_despite_cancellation(self.hub, entry)
            raise
        except ExchangeError as error:
            if not ran_here:
                # The fetch this request joined failed; the fetch itself logged its own entry.
                await self._log(
                    caller,
                    "cases.material.attach",
                    case,
                    case.id,
                    dataset=dataset,
                    error=error,
                    authorised=True,  # the fetch it joined was allowed; a refusal on its document is still a deny
                    subject_id=(error.metadata.get("subject_id") or case.applicant_id)[:256],
                    details={"shared": "true"},
                )
            raise
        if not (ran_here and fetched):
            await self._log_shared(caller, case, material, "coalesced" if ran_here is False else "already_held")
        return material, ran_here and fetched

    async def _log_shared(self, caller: Caller, case: Case, material: Material, how: str) -> None:
        await self._log(
            caller,
            "cases.material.attach",
            case,
            case.id,
            dataset=material.dataset,
            dataset_version=material.dataset_version,
            details={"version": str(material.version), "upstream_call": "false", "served": how},
        )

    async def _fetch_material(
        self, caller: Caller, case: Case, dataset: str, key: str, seen_version: int, time_budget: float | None
    ) -> tuple[Material, bool]:
        """The one upstream fetch of a material version, across replicas: the in-process single-flight
        coalesces this process's callers, and the lock below the other replicas' (one waits, then finds the
        version the other stored)."""
        async with held_across_replicas(self.hub.db, "material", case.id, dataset, str(seen_version)):
            return await self._fetch_material_locked(caller, case, dataset, key, seen_version, time_budget)

    async def _fetch_material_locked(
        self, caller: Caller, case: Case, dataset: str, key: str, seen_version: int, time_budget: float | None
    ) -> tuple[Material, bool]:
        from exchange.fetch import FetchRequest  # the fetch module speaks protobuf to adapters

        async with self.hub.db.read() as conn:
            held = await case_records.get_material(conn, case.id, dataset)
        if held is not None and held.version != seen_version:
            return held, False
        result = await self.fetcher.fetch(
            caller,
            FetchRequest(
                dataset=dataset,
                key=key,
                case_id=case.id,
                service_item=case.service_item,
                time_budget=time_budget,
            ),
            action="cases.material.attach",
        )
        ds = await self.registry.get_dataset(dataset)
        status_code, valid_until = validity_of(ds, result.signed.document())
        p = result.provenance
        # The stored copy keeps what re-verifies it: the envelope, and the disclosures of the stored fields.
        bundle = disclosures_bundle(p.disclosures) if p.format == 2 else b""
        material = Material(
            case_id=case.id,
            dataset=dataset,
            key=p.key,
            version=seen_version + 1,
            digest=content_digest(result.document_json),
            fields=result.fields,
            issuer=p.issuer,
            dataset_version=p.dataset_version,
            issued_at_us=p.issued_at_us,
            kid=p.kid,
            signature=p.signature,
            content_digest=p.content_digest,
            fetched_at_us=p.fetched_at_us,
            fetched_by=f"{caller.department}/{caller.officer_id}",
            valid_until_us=valid_until,
            status_code=status_code,
            current=True,
            subject_id=result.subject_id,
            receipt_index=result.receipt.index,
            receipt_leaf_hash=result.receipt.leaf_hash,
            receipt_origin=result.receipt.origin,
            format=p.format,
            envelope_json=p.envelope_json,
            disclosures_digest=content_digest(bundle) if bundle else "",
        )
        # Each department would otherwise have needed the applicant's copy of a newly required material.
        avoided = len(case.involved_departments) if material.version == 1 else 0
        try:
            async with self.hub.db.begin() as conn:
                await case_store.put_document(conn, material.digest, result.document_json, now_us())
                if bundle:
                    await case_store.put_document(conn, material.disclosures_digest, bundle, now_us())
                await case_records.add_material(conn, material)
                await case_store.add_savings(conn, case.id, fetched=1, avoided=avoided)
        except IntegrityError:
            # Another hub replica stored this version first: keep its copy, ours was one extra fetch.
            async with self.hub.db.read() as conn:
                winner = await case_records.get_material(conn, case.id, dataset)
            if winner is None:
                raise
            return winner, False
        return material, True

    async def read_material(
        self, caller: Caller, case_id: str, dataset: str, version: int = 0
    ) -> tuple[Material, bytes, Receipt]:
        """A material from the case (no upstream call), holding the fields the caller's department may see."""
        case, material, visible = await self.readable(caller, "cases.material.read", case_id, dataset, version)
        body = canonical_json(visible)
        receipt = await self._log(
            caller,
            "cases.material.read",
            case,
            case.id,
            subject_id=(material.subject_id or case.applicant_id)[:256],
            dataset=dataset,
            dataset_version=material.dataset_version,
            fields=tuple(visible),
            response_digest=hashlib.sha256(body).hexdigest(),
            details={"version": str(material.version), "upstream_call": "false"},
        )
        return material, body, receipt

    async def readable(
        self, caller: Caller, action: str, case_id: str, dataset: str, version: int = 0
    ) -> tuple[Case, Material, dict[str, Any]]:
        """The case, the material and the fields of it the caller may see: the table's rule for `action`, then
        decided like a fetch; a refusal is logged under `action`, an allowed read is for the caller to log."""
        async with self._refusals(caller, action, case_id, dataset) as seen:
            ds = await self.registry.get_dataset(dataset)
            async with self.hub.db.read() as conn:
                case = seen.case = await self._load_in(conn, case_id)
                self._require_involved(caller, case, action)
                material = await case_records.get_material(conn, case.id, dataset, version)
                # The same facts and the same decision as a fetch: reading from the case grants nothing extra.
                facts = await grant_records.fetch_facts(
                    conn,
                    caller,
                    ds,
                    case_id=case.id,
                    service_item="",
                    fields=(),
                    now_us=now_us(),
                    # A material is served only while its subject is a party to the case, like a fetch.
                    subject=material.subject_id if material else None,
                )
                document = await case_store.get_document(conn, material.digest) if material else None
            decision = decide_fetch(facts)
            subject = material.subject_id[:256] if material else ""
            if not decision.allowed:
                raise PermissionDenied(
                    decision.message, reason=decision.reason, metadata={"case": case.id, "subject_id": subject}
                )
            if material is None or document is None:
                which = f"version {version}" if version else "any version"
                raise NotFound(
                    f"case {case.id} holds no {dataset} ({which}); attach it with AttachMaterial",
                    reason="MATERIAL_NOT_ATTACHED",
                    metadata={"case": case.id, "dataset": dataset},
                )
            full = json.loads(document)
            visible = {name: full[name] for name in decision.fields if name in full}
        return case, material, visible

    async def disclosures_for(self, material: Material, visible_json: bytes) -> tuple[bytes, ...]:
        """The stored disclosures of the fields a reader was shown, so it can verify them against the envelope."""
        if not material.disclosures_digest:
            return ()
        async with self.hub.db.read() as conn:
            bundle = await case_store.get_document(conn, material.disclosures_digest)
        return disclosures_from_bundle(bundle, json.loads(visible_json)) if bundle else ()

    async def materials(self, caller: Caller, case_id: str) -> list[Material]:
        """Every version of every material of a case: metadata only."""
        async with self._refusals(caller, "cases.material.list", case_id) as seen:
            case = seen.case = await self._load(case_id)
            self._require_involved(caller, case, "cases.material.list")
            async with self.hub.db.read() as conn:
                found = await case_records.list_materials(conn, case.id)
        await self._log(caller, "cases.material.list", case, case.id, details={"count": str(len(found))})
        return found
