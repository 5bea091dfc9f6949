"""The once-only fetch: authenticate, authorise, call the issuer's adapter, verify, log, answer.

No data leaves before its access-log entry is committed, and every request, allowed
or refused, leaves exactly one entry. Refusals carry the same reason code in the
entry and in the gRPC status.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.keys import dataset_key
from adapters.signing import SignedDocument, canonical_json, verify_document
from catalog import limits
from catalog.model import Dataset
from exchange import metrics
from exchange.app import grant_records
from exchange.attempts import Deadline, Progress, record_interrupted
from exchange.audit.entry import AccessLogEntry, decision_for
from exchange.audit.log import Receipt
from exchange.audit.recorder import Purpose, entry_of
from exchange.auth.identity import Caller
from exchange.clock import now_us
from exchange.errors import (
    DataLoss,
    ExchangeError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    quote,
    status_name,
)
from exchange.hub import Hub
from exchange.policy import (
    REASON_SUBJECT_NOT_ON_CASE,
    Decision,
    FetchFacts,
    decide_fetch,
    decide_subject,
    subject_of_request,
)
from exchange.provenance import Provenance
from exchange.ratelimit import RateLimiter
from exchange.registry import Registry
from exchange.request_ids import current_request_id
from exchange.storage import quota_store
from exchange.storage.db import Reader

MAX_KEY_LENGTH = limits.KEY.max_length
MAX_FIELDS = 256


@dataclass(frozen=True)
class FetchRequest:
    dataset: str
    key: str
    case_id: str = ""
    service_item: str = ""
    fields: tuple[str, ...] = ()
    request_id: str = ""
    note: str = ""
    # How much time the caller gave us (gRPC deadline), in seconds.
    time_budget: float | None = None


@dataclass(frozen=True)
class FetchResult:
    document: dict[str, Any]
    document_json: bytes
    fields: tuple[str, ...]
    provenance: Provenance
    receipt: Receipt
    request_id: str
    subject_id: str
    # The whole signed document as the issuer served it (for the case's material set).
    signed: SignedDocument = field(repr=False)


def request_digest(req: FetchRequest) -> str:
    body = json.dumps(
        [req.dataset, req.key, req.case_id, req.service_item, list(req.fields), req.request_id], ensure_ascii=False
    )
    return hashlib.sha256(body.encode()).hexdigest()


class Fetcher:
    """Runs fetches for the exchange service and for case materials."""

    def __init__(self, hub: Hub, registry: Registry) -> None:
        self.hub = hub
        self.registry = registry
        self.rates = RateLimiter()
        self.upstream_calls = 0

    async def fetch(self, caller: Caller, req: FetchRequest, *, action: str = "exchange.fetch") -> FetchResult:
        started = time.perf_counter()
        req = FetchRequest(**{**req.__dict__, "request_id": req.request_id or current_request_id()})
        entry = entry_of(
            caller,
            action,
            purpose=Purpose(req.case_id, req.service_item),
            request_id=req.request_id,
            # The recorder cuts each value to its limit (catalog.limits); the edge refused worse.
            dataset=req.dataset,
            request_digest=request_digest(req),
            # Why the officer needs the document now, in the caller's words (bounded by the recorder).
            details={"note": req.note} if req.note else {},
        )
        progress, deadline = Progress(), Deadline.after(req.time_budget)
        try:
            result = await self._fetch(caller, req, entry, progress, deadline)
        except ExchangeError as error:
            message = f"{error.message} ({progress.describe()})" if progress.authorised else error.message
            decision = decision_for(error, authorised=progress.authorised)
            # A code the catalog does not hold is not a label (callers could invent any number of them).
            unresolved = error.reason in ("DATASET_NOT_FOUND", "INVALID_REQUEST")
            metrics.fetch_decided(None if unresolved else entry.dataset, decision, error.reason)
            await self.hub.record(
                _with(
                    entry,
                    decision=decision,
                    reason=error.reason,
                    message=message[:500],
                    outcome=status_name(error),
                    latency_us=int((time.perf_counter() - started) * 1e6),
                    subject_id=error.metadata.get("subject_id", entry.subject_id),
                    dataset_version=error.metadata.get("dataset_version", ""),
                )
            )
            raise
        except asyncio.CancelledError:
            if "logged" not in progress.steps:
                await record_interrupted(self.hub, entry, deadline, progress, started)
            raise
        metrics.fetch_decided(entry.dataset, "allow", "")
        return result

    async def _fetch(
        self, caller: Caller, req: FetchRequest, entry: AccessLogEntry, progress: Progress, deadline: Deadline
    ) -> FetchResult:
        # No snapshot needed: every statement reads the newest committed grants and case state on its own.
        async with self.hub.db.statements() as conn:
            ds = await self.dataset_for(req, conn)
            key = self._key(ds, req)
            requested_subject = subject_of_request(ds, key)
            facts = await self.facts(caller, ds, req, conn, subject=requested_subject)
        subject_guess = key if requested_subject is not None else ""
        decision = decide_fetch(facts)
        if not decision.allowed:
            raise PermissionDenied(
                decision.message,
                reason=decision.reason,
                metadata={"subject_id": subject_guess, "dataset_version": ds.version},
            )
        await self.check_quota(caller, ds, decision)
        progress.done("authorised")
        progress.done("adapter called")
        signed = await self._lookup(ds, key, req, entry.request_digest, deadline.remaining())
        progress.done("adapter answered")
        document = self._verify(ds, key, signed)
        progress.done("document verified")
        subject = str(document.get(ds.subject_field or ds.key_field, subject_guess) or subject_guess)
        if requested_subject is None:
            self._check_document_subject(facts, ds, subject)
        returned = {name: document[name] for name in decision.fields if name in document}
        document_json = canonical_json(returned)
        # What the consumer can verify: the envelope and the disclosures of the returned fields only.
        served = signed.minimised(tuple(returned))
        fetched_at = now_us()
        receipt = await self.hub.record(
            _with(
                entry,
                dataset_version=ds.version,
                subject_id=subject,
                fields=tuple(returned),
                decision="allow",
                outcome="OK",
                latency_us=0,
                response_digest=hashlib.sha256(document_json).hexdigest(),
            )
        )
        progress.done("logged")
        provenance = Provenance(
            issuer=signed.issuer,
            dataset=signed.dataset,
            dataset_version=signed.dataset_version,
            key=signed.key,
            issued_at_us=signed.issued_at_us,
            kid=signed.kid,
            signature=signed.signature,
            content_digest=signed.content_digest(),
            fetched_at_us=fetched_at,
            format=served.format,
            envelope_json=served.envelope_json,
            disclosures=served.disclosures if served.format == 2 else (),
        )
        return FetchResult(
            returned, document_json, tuple(returned), provenance, receipt, req.request_id, subject, signed
        )

    @staticmethod
    def _check_document_subject(facts: FetchFacts, ds: Dataset, subject: str) -> None:
        """The subject rule for a dataset whose key does not name its subject (a property certificate by licence
        id): applied to the verified document, before anything is returned, stored or logged as allowed."""
        assert facts.case is not None  # decide_fetch refuses a fetch without a case
        bound = decide_subject(facts.case, ds, subject)
        if not bound.allowed:
            raise PermissionDenied(
                bound.message,
                reason=REASON_SUBJECT_NOT_ON_CASE,
                metadata={"subject_id": subject[:256], "dataset_version": ds.version},
            )

    async def dataset_for(self, req: FetchRequest, conn: Reader | None = None) -> Dataset:
        problems = []
        if not req.dataset:
            problems.append(FieldViolation("dataset", "required: the code of a dataset in the catalog"))
        if not req.key:
            problems.append(FieldViolation("key", "required: the lookup key"))
        if len(req.fields) > MAX_FIELDS:
            problems.append(FieldViolation("fields", f"at most {MAX_FIELDS} fields"))
        if problems:
            raise InvalidArgument("the fetch request is incomplete", reason="INVALID_REQUEST", violations=problems)
        if len(req.dataset) > 64:
            raise NotFound("no such dataset (the code is longer than any dataset code)", reason="DATASET_NOT_FOUND")
        ds = await self.registry.current_dataset(req.dataset, conn=conn)
        unknown = [f for f in req.fields if not ds.schema.has_field(f)]
        if unknown:
            raise InvalidArgument(
                f"{ds.code} has no field(s) {', '.join(quote(f) for f in unknown[:5])}; "
                f"it has: {', '.join(ds.schema.names)}",
                reason="UNKNOWN_FIELD",
                violations=[FieldViolation("fields", f"unknown field {quote(f)}") for f in unknown[:5]],
            )
        return ds

    def _key(self, ds: Dataset, req: FetchRequest) -> str:
        if len(req.key) > MAX_KEY_LENGTH:
            raise InvalidArgument(
                f"key is {len(req.key)} characters; keys are at most {MAX_KEY_LENGTH}",
                reason="KEY_TOO_LONG",
                violations=[FieldViolation("key", f"at most {MAX_KEY_LENGTH} characters")],
            )
        return dataset_key(ds, req.key)

    async def facts(
        self, caller: Caller, ds: Dataset, req: FetchRequest, conn: Reader | None = None, *, subject: str | None
    ) -> FetchFacts:
        if conn is None:
            async with self.hub.db.read() as own:
                return await self.facts(caller, ds, req, own, subject=subject)
        return await grant_records.fetch_facts(
            conn,
            caller,
            ds,
            case_id=req.case_id,
            service_item=req.service_item,
            fields=req.fields,
            now_us=now_us(),
            subject=subject,
        )

    async def check_quota(self, caller: Caller, ds: Dataset, decision: Decision) -> None:
        """Count the request against its grant's quota: across every replica on PostgreSQL, in this process
        on SQLite (which serves one process)."""
        grant = decision.grant
        if grant is None or grant.rate_per_minute <= 0:
            return
        if self.hub.db.dialect == "postgresql":
            async with self.hub.db.begin() as conn:
                admitted = await quota_store.take(conn, grant.id, grant.rate_per_minute, time.time())
        else:
            admitted = self.rates.allow(grant.id, grant.rate_per_minute)
        if not admitted:
            raise ResourceExhausted(
                f"grant {grant.id} allows {grant.rate_per_minute} requests per minute to {ds.code}; wait and try again",
                reason="QUOTA_EXCEEDED",
            )

    async def _lookup(
        self, ds: Dataset, key: str, req: FetchRequest, digest: str, budget: float | None
    ) -> SignedDocument:
        self.upstream_calls += 1
        signed = await self.hub.adapters.lookup_document(
            ds.owner,
            self.hub.keyring.adapter_endpoint(ds.owner),
            dataset=ds.code,
            key=key,
            request_id=req.request_id,
            request_digest=digest,
            deadline=budget,  # the caller's remaining time: an answer after it would be wasted
        )
        if signed is None:
            raise NotFound(f"{ds.owner} has no {ds.code} with key {key}", reason="KEY_NOT_FOUND")
        return signed

    def _verify(self, ds: Dataset, key: str, signed: SignedDocument) -> dict[str, Any]:
        """The issuer's signature, the binding to this request, and the document's shape."""
        if (signed.issuer, signed.dataset, signed.key) != (ds.owner, ds.code, key):
            raise DataLoss(
                f"the adapter of {ds.owner} answered for {signed.issuer}/{signed.dataset}/{signed.key}, "
                f"not for {ds.owner}/{ds.code}/{key}; the answer was discarded",
                reason="RESPONSE_MISMATCH",
            )
        document = verify_document(signed, self.hub.keyring.signing_key)
        retired = self.hub.keyring.retired_at(signed.issuer, signed.kid)
        if retired and signed.issued_at_us >= retired:
            raise DataLoss(
                f"{signed.issuer} signed this {signed.dataset} document with key {signed.kid} after that key was "
                "retired; a retired key verifies only documents signed before its retirement",
                reason="ISSUER_KEY_RETIRED",
            )
        # How far an adapter's signing time may be from the hub's clock (replays, and clocks that drifted).
        max_skew_seconds = 300
        skew = abs(now_us() - signed.issued_at_us) / 1e6
        if skew > max_skew_seconds:
            # A signature over an old answer proves it was true then, not now: an adapter replaying it is refused.
            raise DataLoss(
                f"the document {ds.owner} returned for {ds.code} key {key} was signed {skew:.0f} s away from now "
                f"(at most {max_skew_seconds} s allowed); a replayed answer, or the adapter's clock is wrong",
                reason="DOCUMENT_NOT_FRESH",
            )
        problems = ds.schema.validate_document(document)
        if problems:
            raise DataLoss(
                f"the document {ds.owner} returned for {ds.code} does not match the catalog schema "
                f"(version {ds.version}): " + "; ".join(f"{p.field}: {p.description}" for p in problems[:5]),
                reason="DOCUMENT_SCHEMA_MISMATCH",
                violations=problems[:20],
            )
        return document


def _with(entry: AccessLogEntry, **changes: Any) -> AccessLogEntry:
    return replace(entry, **changes)
