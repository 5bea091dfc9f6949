"""AuditService: log queries, checkpoints, proofs, evidence bundles and the citizen access report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from grpc import aio

from catalog.model import department_name
from exchange.app.audit_queries import AuditQueries
from exchange.audit.entry import AccessLogEntry
from exchange.audit.recorder import entry_of
from exchange.clock import now_us
from exchange.error_text import language_of_metadata
from exchange.errors import FieldViolation, InvalidArgument, NotFound, quote
from exchange.hub import Hub
from exchange.policy import decide_evidence_bundle, error_for
from exchange.services import caller
from exchange.services.convert import checkpoint_to_proto, entry_filter, entry_to_proto, keyset_page
from exchange.storage.log_store import EntryFilter
from exchange.v1 import audit_pb2, audit_pb2_grpc, common_pb2

Ctx = aio.ServicerContext[Any, Any]


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, hub: Hub, queries: AuditQueries) -> None:
        self.hub = hub
        self.log = hub.access_log
        self.queries = queries

    async def _record_read(self, action: str, subject_id: str, details: dict[str, str]) -> None:
        """Log an auditor's read of the log before answering (kept for auditors, out of the citizen's report)."""
        who = caller()
        await self.hub.record(
            entry_of(
                who,
                action,
                subject=subject_id,
                hidden_from_subject=True,
                details={k: v[:200] for k, v in details.items() if v},
            )
        )

    async def QueryEntries(
        self, request: audit_pb2.QueryEntriesRequest, context: Ctx
    ) -> AsyncIterator[audit_pb2.QueryEntriesResponse]:
        after, size = keyset_page(request.page)
        wanted = entry_filter(request.filter)
        remaining = request.limit or None
        await self._record_read(
            "audit.entries.query",
            wanted.subject_id,
            {k: str(v) for k, v in vars(wanted).items() if v and k != "subject_id"},
        )
        while True:
            take = size if remaining is None else min(size, remaining)
            found = await self.queries.query_entries(wanted, after=after, newest_first=request.newest_first, limit=take)
            if found:
                after = found[-1].entry.index
            more = len(found) == take and (remaining is None or remaining > take)
            yield audit_pb2.QueryEntriesResponse(
                entries=[entry_to_proto(s.entry, s.leaf_hash) for s in found],
                page=common_pb2.PageResponse(next_page_token=str(after) if len(found) == take and found else ""),
            )
            if remaining is not None:
                remaining -= len(found)
            if not more:
                return

    async def GetEntry(self, request: audit_pb2.GetEntryRequest, context: Ctx) -> audit_pb2.GetEntryResponse:
        await self.log.check_index(request.index)
        stored = await self.queries.get_entry(request.index)
        if stored is None:
            raise NotFound(
                f"no entry {request.index} in the live log (never written, or archived and pruned)",
                reason="ENTRY_NOT_FOUND",
            )
        # Reading one entry reads about its subject: logged like a query (for auditors, out of the report).
        await self._record_read("audit.entry.read", stored.entry.subject_id, {"index": str(request.index)})
        return audit_pb2.GetEntryResponse(
            entry=entry_to_proto(stored.entry, stored.leaf_hash), canonical=stored.canonical
        )

    async def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: Ctx
    ) -> audit_pb2.GetCheckpointResponse:
        signed = await (self.log.sign_checkpoint(wait=True) if request.sign_now else self.log.latest_checkpoint())
        return audit_pb2.GetCheckpointResponse(
            checkpoint=checkpoint_to_proto(signed), verifier_key=self.hub.signer.verifier().verifier_key()
        )

    async def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: Ctx
    ) -> audit_pb2.GetInclusionProofResponse:
        proof = await self.log.inclusion_proof(request.index, request.tree_size)
        return audit_pb2.GetInclusionProofResponse(
            index=proof.index,
            tree_size=proof.size,
            leaf_hash=proof.leaf_hash,
            hashes=list(proof.hashes),
            checkpoint=checkpoint_to_proto(proof.checkpoint) if proof.checkpoint else None,
        )

    async def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: Ctx
    ) -> audit_pb2.GetConsistencyProofResponse:
        new_size, hashes = await self.log.consistency_proof(request.old_size, request.new_size)
        return audit_pb2.GetConsistencyProofResponse(old_size=request.old_size, new_size=new_size, hashes=hashes)

    async def GetSubjectReport(
        self, request: audit_pb2.GetSubjectReportRequest, context: Ctx
    ) -> audit_pb2.GetSubjectReportResponse:
        if not request.subject_id:
            raise InvalidArgument(
                "name the person or organisation: subject_id is required",
                reason="SUBJECT_REQUIRED",
                violations=[FieldViolation("subject_id", "required")],
            )
        after, size = keyset_page(request.page)
        wanted = EntryFilter(from_us=request.from_us, until_us=request.until_us, subject_id=request.subject_id)
        await self._record_read(
            "audit.subject_report.read", request.subject_id, {"page_token": request.page.page_token}
        )
        report = await self.queries.subject_page(wanted, after=after, limit=size)
        found = report.entries
        # Departments named in the caller's language (accept-language); English when it asks none.
        language = language_of_metadata(context.invocation_metadata())
        return audit_pb2.GetSubjectReportResponse(
            subject_id=request.subject_id,
            accesses=[self._access(s.entry, report.dataset_titles, language) for s in found],
            page=common_pb2.PageResponse(next_page_token=str(found[-1].entry.index) if len(found) == size else ""),
        )

    def _access(self, e: AccessLogEntry, titles: dict[str, str], language: str) -> audit_pb2.SubjectAccess:
        department = self.hub.keyring.department(e.caller_department)
        return audit_pb2.SubjectAccess(
            time_us=e.time_us,
            department=e.caller_department,
            department_name=department_name(department, language) if department else "",
            officer_role=e.officer_role,
            dataset=e.dataset,
            dataset_title=titles.get(e.dataset, ""),
            case_id=e.case_id,
            service_item=e.service_item,
            decision=common_pb2.DECISION_ALLOW if e.decision == "allow" else common_pb2.DECISION_DENY,
            action=e.action,
            log_index=e.index,
        )

    async def GetEvidenceBundle(
        self, request: audit_pb2.GetEvidenceBundleRequest, context: Ctx
    ) -> audit_pb2.GetEvidenceBundleResponse:
        who = caller()
        await self.log.check_index(request.index, not_found=True)
        stored, owner = await self.queries.entry_and_dataset_owner(request.index)
        if stored is None:
            raise NotFound(
                f"no entry {request.index} in the live log (never written, or archived and pruned)",
                reason="ENTRY_NOT_FOUND",
            )
        decision = decide_evidence_bundle(who, stored.entry.caller_department, owner)
        refusal = None if decision.allowed else error_for(decision)
        await self.hub.record(
            entry_of(
                who,
                "audit.evidence_bundle.read",
                error=refusal,
                subject=stored.entry.subject_id,
                hidden_from_subject=True,
                details={"index": str(request.index)},
            )
        )
        if refusal is not None:
            raise refusal
        bundle = await self.log.evidence_bundle(request.index)
        return audit_pb2.GetEvidenceBundleResponse(bundle=bundle.to_text())

    async def SetHiddenAccesses(
        self, request: audit_pb2.SetHiddenAccessesRequest, context: Ctx
    ) -> audit_pb2.SetHiddenAccessesResponse:
        who = caller()
        basis = request.legal_basis.strip()
        if self.hub.keyring.department(request.department) is None:
            raise NotFound(f"no department {quote(request.department)} is registered", reason="DEPARTMENT_NOT_FOUND")
        if request.hidden and not basis:
            raise InvalidArgument(
                "hiding a department's accesses from citizens needs the law that allows it",
                reason="LEGAL_BASIS_REQUIRED",
                violations=[FieldViolation("legal_basis", "required when hidden is set")],
            )
        if request.hidden:
            await self.queries.set_hidden(request.department, basis, f"{who.department}/{who.officer_id}", now_us())
        else:
            await self.queries.clear_hidden(request.department)
        state = "hidden" if request.hidden else "shown"
        await self.hub.record(
            entry_of(
                who,
                "audit.hidden_accesses.set",
                details={"target": request.department, "summary": f"accesses {state} from citizens", "basis": basis},
            )
        )
        return audit_pb2.SetHiddenAccessesResponse(
            department=request.department, hidden=request.hidden, legal_basis=basis if request.hidden else ""
        )
