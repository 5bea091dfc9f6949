"""The bulk scan: a table dataset streamed from its owner's adapter through the hub as Arrow batches.

Authorised like a fetch (`decide_fetch`: a grant, a shared and published dataset, an open
case whose service item needs the table), columns cut to the granted fields, a row filter
only on granted columns. The access-log entry is committed before the first row leaves;
batches are checked against the catalog schema and passed on one at a time (never the whole
table). Each batch must follow from the one before in the issuer's digest chain, and the issuer's signed
closing manifest is verified, and logged in a closing entry, before it goes on as the last message
(adapters.bulk; docs/document-format.md, "Signed bulk"). A stream that breaks after it started gets a
second entry too, and no row after the break.

The adapter's batch responses stay encoded: `ProviderServiceScanResponse` and `ScanResponse` number
arrow_batch and rows alike, so a checked response that holds nothing else is sent on as the very
same bytes (no protobuf parse, no copy of the batch, no second encoding).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, replace

import pyarrow as pa
from google.protobuf.message import DecodeError

from adapters.bulk import DigestChain, ScanBinding, VerifiedManifest, manifest_missing, new_nonce, verify_manifest
from adapters.ipc import (
    MAX_MESSAGE_BYTES,
    MESSAGE_OVERHEAD_BYTES,
    is_manifest_response,
    read_batch,
    read_schema,
    schema_message,
    split_chained_response,
)
from adapters.sources.base import project_schema
from adapters.sources.filters import RowFilter, parse_filter
from catalog.model import Dataset, DatasetKind
from exchange.adapter_client import ScanLimits, scan_closing, scan_schema
from exchange.attempts import Deadline, Progress, record_despite_cancellation, record_interrupted
from exchange.audit.entry import AccessLogEntry, decision_for
from exchange.audit.log import Receipt
from exchange.audit.recorder import Purpose, entry_of
from exchange.auth.identity import Caller
from exchange.clock import now_us
from exchange.errors import (
    DataLoss,
    ExchangeError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    status_name,
)
from exchange.fetch import Fetcher, FetchRequest
from exchange.policy import Decision, FetchFacts, decide_fetch, decide_filter_subjects
from exchange.request_ids import current_request_id
from exchange.v1 import exchange_pb2

MAX_BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class ScanRequest:
    """A caller's request for rows of a table dataset, for a case."""

    dataset: str
    columns: tuple[str, ...] = ()
    filter: str = ""
    case_id: str = ""
    service_item: str = ""
    batch_rows: int = 0
    request_id: str = ""
    # How much time the caller gave us (gRPC deadline), in seconds.
    time_budget: float | None = None


@dataclass
class ScanStream:
    """An authorised, logged scan: the schema message and receipt to send first, then the batches.

    Each item of batches is an encoded ScanResponse holding one checked batch message and its row count.
    """

    schema: pa.Schema
    schema_message: bytes
    receipt: Receipt
    request_id: str
    batches: AsyncGenerator[bytes, None]


def scan_digest(req: ScanRequest) -> str:
    """SHA-256 of the request (as the access log records it)."""
    body = "\x1f".join([req.dataset, ",".join(req.columns), req.filter, req.case_id, req.service_item])
    return hashlib.sha256(body.encode()).hexdigest()


class Scanner:
    """Runs scans for the exchange service, sharing the fetcher's facts, quotas and adapter client."""

    def __init__(self, fetcher: Fetcher, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.fetcher = fetcher
        self.hub = fetcher.hub
        self.max_message_bytes = max_message_bytes

    async def open(self, caller: Caller, req: ScanRequest) -> ScanStream:
        """Authorise, reach the adapter, log; the returned stream has not sent a row yet."""
        started = time.perf_counter()
        req = replace(req, request_id=req.request_id or current_request_id())
        entry = entry_of(
            caller,
            "exchange.scan",
            purpose=Purpose(req.case_id, req.service_item),
            request_id=req.request_id,
            # The recorder cuts each value to its limit (catalog.limits); the edge refused worse.
            dataset=req.dataset,
            request_digest=scan_digest(req),
        )
        progress, deadline = Progress(), Deadline.after(req.time_budget)
        nonce = new_nonce()  # binds the adapter's digest chain to this scan (adapters.bulk)
        try:
            ds, decision, upstream = await self._authorise_and_connect(caller, req, progress, deadline, nonce)
            schema = await self._schema(ds, decision, upstream)
        except ExchangeError as error:
            # Refused before any adapter call is a deny; a failure after the decision is an allowed request that failed.
            await self.hub.record(
                replace(
                    entry,
                    subject_id=error.metadata.get("subject_id", entry.subject_id)[:256],
                    decision=decision_for(error, authorised=progress.authorised),
                    reason=error.reason,
                    message=error.message[:500],
                    outcome=status_name(error),
                    latency_us=int((time.perf_counter() - started) * 1e6),
                )
            )
            raise
        except asyncio.CancelledError:
            await record_interrupted(self.hub, entry, deadline, progress, started, "before the first row")
            raise
        entry = replace(entry, dataset_version=ds.version, fields=decision.fields, details={"filter": req.filter[:500]})
        # Fail closed: no durable entry, no rows.
        receipt = await self.hub.record(replace(entry, latency_us=int((time.perf_counter() - started) * 1e6)))
        binding = ScanBinding.of(
            issuer=ds.owner,
            dataset=ds.code,
            version=ds.version,
            schema=schema,
            filter=req.filter,
            request_id=req.request_id,
            nonce=nonce,
        )
        return ScanStream(
            schema,
            schema_message(schema),
            receipt,
            req.request_id,
            self._relay(ds, schema, upstream, entry, deadline, binding),
        )

    async def _authorise_and_connect(
        self, caller: Caller, req: ScanRequest, progress: Progress, deadline: Deadline, nonce: bytes
    ) -> tuple[Dataset, Decision, AsyncIterator[bytes]]:
        """The dataset, the decision and the adapter's stream (not read yet)."""
        if not req.dataset:
            raise InvalidArgument(
                "the scan request names no dataset",
                reason="INVALID_REQUEST",
                violations=[FieldViolation("dataset", "required: the code of a table dataset")],
            )
        if not 0 <= req.batch_rows <= MAX_BATCH_ROWS:
            raise InvalidArgument(
                f"batch_rows must be 0 (server default) to {MAX_BATCH_ROWS}, got {req.batch_rows}",
                reason="INVALID_REQUEST",
                violations=[FieldViolation("batch_rows", f"0..{MAX_BATCH_ROWS}")],
            )
        fetch_like = FetchRequest(
            dataset=req.dataset, key="-", case_id=req.case_id, service_item=req.service_item, fields=req.columns
        )
        ds = await self.fetcher.dataset_for(fetch_like)  # the same checks of code and field names as a fetch
        if ds.kind != DatasetKind.TABLE:
            raise FailedPrecondition(
                f"{ds.code} is a {ds.kind.value} dataset: fetch its documents one by one; only tables are scanned",
                reason="DATASET_NOT_TABLE",
            )
        # A scan names no one subject; a filter that picks rows by a personal identity is checked below.
        facts = await self.fetcher.facts(caller, ds, fetch_like, subject=None)
        decision = decide_fetch(facts)
        if not decision.allowed:
            raise PermissionDenied(decision.message, reason=decision.reason, metadata={"dataset_version": ds.version})
        if req.filter.strip():
            row_filter = parse_filter(req.filter, ds.schema.arrow_schema())
            hidden = [c for c in row_filter.columns() if c not in decision.fields]
            if hidden:
                # Filtering on a column reveals its values as surely as reading it.
                raise PermissionDenied(
                    f"the row filter uses {', '.join(hidden)}, which {caller.department} may not read in {ds.code}",
                    reason="FILTER_FIELD_NOT_GRANTED",
                )
            _check_filter_subjects(facts, ds, row_filter)
        await self.fetcher.check_quota(caller, ds, decision)
        progress.done("authorised")
        upstream = self.hub.adapters.scan_table(
            ds.owner,
            self.hub.keyring.adapter_endpoint(ds.owner),
            dataset=ds.code,
            columns=list(decision.fields),
            row_filter=req.filter,
            batch_rows=req.batch_rows,
            request_id=req.request_id,
            nonce=nonce,
            max_message_bytes=self.max_message_bytes,
            limits=self._limits(deadline),
        )
        progress.done("adapter called")
        return ds, decision, upstream

    def _limits(self, deadline: Deadline) -> ScanLimits:
        """The scan settings, the whole scan cut to the caller's remaining time."""
        s = self.hub.settings
        remaining = deadline.remaining()
        total = s.scan_max_seconds if remaining is None else min(s.scan_max_seconds, remaining)
        return ScanLimits(s.scan_first_message_timeout_seconds, s.scan_idle_timeout_seconds, total)

    async def _schema(self, ds: Dataset, decision: Decision, upstream: AsyncIterator[bytes]) -> pa.Schema:
        """The adapter's first message: a schema that must be the catalog's, cut to the granted columns."""
        expected = project_schema(ds.schema.arrow_schema(), list(decision.fields))
        try:
            first = await anext(upstream)
        except StopAsyncIteration:
            raise DataLoss(
                f"the adapter of {ds.owner} ended the scan of {ds.code} without a schema", reason="SCAN_NO_SCHEMA"
            ) from None
        what = f"the adapter of {ds.owner}"
        try:
            message = scan_schema(first)
        except DecodeError as exc:
            raise DataLoss(
                f"{what} sent a first scan response that does not parse: {exc}", reason="SCAN_MESSAGE_INVALID"
            ) from exc
        got = read_schema(message, what)
        if got.names != expected.names or got.types != expected.types:
            raise DataLoss(
                f"{what} streams {ds.code} as {_describe(got)}, but the catalog (version {ds.version}) and the grant "
                f"say {_describe(expected)}; the scan was stopped",
                reason="SCAN_SCHEMA_MISMATCH",
            )
        return expected

    async def _relay(
        self,
        ds: Dataset,
        schema: pa.Schema,
        upstream: AsyncIterator[bytes],
        entry: AccessLogEntry,
        deadline: Deadline,
        binding: ScanBinding,
    ) -> AsyncGenerator[bytes, None]:
        """Check each batch response and its chain link and pass it on; verify and log the closing manifest
        before it goes on last; log a stream that breaks or is stopped."""
        what = f"the adapter of {ds.owner}"
        chain = DigestChain(binding.chain_start(), f"{what} streaming {ds.code}")
        closed = False
        try:
            async for response in upstream:
                if closed:
                    raise DataLoss(f"{what} sent more after the closing manifest", reason="SCAN_MESSAGE_INVALID")
                if is_manifest_response(response):
                    closing = self._verified_manifest(response, chain, binding, what)
                    # The manifest goes on last, and only once the access log holds it.
                    await self.hub.record(_completed(entry, closing))
                    closed = True
                    yield exchange_pb2.ScanResponse(
                        manifest_json=closing.manifest, manifest_signature=closing.signature
                    ).SerializeToString()
                    continue
                count, message, link = split_chained_response(response, what)
                if not message and not link:
                    continue
                batch = read_batch(message, schema, what)
                if batch.num_rows != count:
                    raise DataLoss(
                        f"{what} labelled a batch of {batch.num_rows} rows of {ds.code} as {count} rows",
                        reason="SCAN_ROWS_MISMATCH",
                    )
                chain.check(message, count, link)
                if len(response) > self.max_message_bytes + MESSAGE_OVERHEAD_BYTES:
                    # Re-cutting would break the issuer's chain; the adapter was told the size to keep to.
                    raise DataLoss(
                        f"{what} sent a batch message of {len(response)} bytes of {ds.code}; the hub asked for at "
                        f"most {self.max_message_bytes} (and {MESSAGE_OVERHEAD_BYTES} of overhead) and passes a "
                        "signed batch on whole",
                        reason="SCAN_MESSAGE_TOO_LARGE",
                    )
                # Checked, and nothing in it but the batch, its row count and its link: the same bytes go on.
                yield response
            if not closed:
                raise manifest_missing(what, chain.batches, chain.rows)
        except ExchangeError as error:
            await self.hub.record(
                replace(
                    entry,
                    time_us=now_us(),
                    decision="allow",
                    reason=error.reason,
                    message=f"the scan broke after {chain.rows} rows: {error.message}"[:500],
                    outcome=status_name(error),
                )
            )
            raise
        except (asyncio.CancelledError, GeneratorExit):
            # Cancelled while reading from the adapter, or closed while a batch was on its way to the caller.
            reason, outcome, how = deadline.interruption()
            stopped = replace(
                entry,
                time_us=now_us(),
                reason=reason,
                message=f"{how} after {chain.rows} rows were relayed",
                outcome=outcome,
            )
            await record_despite_cancellation(self.hub, stopped)
            raise
        finally:
            aclose = getattr(upstream, "aclose", None)
            if aclose is not None:
                await aclose()

    def _verified_manifest(self, response: bytes, chain: DigestChain, binding: ScanBinding, what: str) -> _Closing:
        """The adapter's closing manifest, verified against the issuer's registered key and the chain relayed."""
        try:
            message = scan_closing(response)
        except DecodeError as exc:
            raise DataLoss(
                f"{what} sent a manifest response that does not parse: {exc}", reason="SCAN_MESSAGE_INVALID"
            ) from exc
        if message.carries_rows:
            raise DataLoss(f"{what} sent rows with the closing manifest", reason="SCAN_MESSAGE_INVALID")
        verified = verify_manifest(
            message.manifest_json, message.manifest_signature, chain, self.hub.keyring.signing_key, binding.as_json()
        )
        return _Closing(verified, message.manifest_json, message.manifest_signature)


@dataclass(frozen=True)
class _Closing:
    """A verified closing manifest and the bytes to pass on."""

    verified: VerifiedManifest
    manifest: bytes
    signature: bytes


def _completed(entry: AccessLogEntry, closing: _Closing) -> AccessLogEntry:
    """The scan's closing entry: the issuer's verified manifest (digest, rows, chain head)."""
    m = closing.verified
    return replace(
        entry,
        time_us=now_us(),
        reason="SCAN_COMPLETED",
        message=f"{m.rows} rows in {m.batches} batches; the issuer's manifest (kid {m.kid}) verified",
        response_digest=m.digest,
        details={
            **entry.details,
            "manifest_sha256": m.digest,
            "rows": str(m.rows),
            "batches": str(m.batches),
            "chain_head": m.chain_head,
            "issuer_kid": m.kid,
        },
    )


def _check_filter_subjects(facts: FetchFacts, ds: Dataset, row_filter: RowFilter) -> None:
    """PermissionDenied (filed under the person named) if the filter picks rows of someone not on the case."""
    assert facts.case is not None  # decide_fetch refuses a scan without a case
    conditions = [
        (c.column, c.op, c.value if isinstance(c.value, tuple) else (c.value,)) for c in row_filter.conditions
    ]
    decision = decide_filter_subjects(facts.case, ds, conditions)
    if not decision.allowed:
        raise PermissionDenied(
            decision.message,
            reason=decision.reason,
            metadata={"subject_id": decision.subject, "dataset_version": ds.version},
        )


def _describe(schema: pa.Schema) -> str:
    """Columns and types, short."""
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"
