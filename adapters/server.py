"""The Provider gRPC server: one department's adapter, signing what it serves, behind TLS or mTLS.

Lookup answers signed documents, Scan streams Arrow IPC (schema first, then batches of a
few MiB), Status reads a licence's status, Describe lists the datasets. Errors leave through
the hub's one error table (`exchange.status`); standard health checking is on; SIGTERM
stops the server after the calls in flight finish.

The hub is the only door: over TLS every Provider call first passes `HubOnlyDoor`, which
admits the hub's client identity alone (by the SAN URI in its certificate, since the same CA
issues every department's client certificate) and refuses, and logs, anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pyarrow as pa
from cryptography import x509
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from exchange.auth.pki import RevocationList, certificate_uris, peer_certificate, peer_chain
from exchange.errors import FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated
from exchange.status import ErrorMappingInterceptor
from exchange.tracing import TracingInterceptor
from exchange.v1 import provider_pb2, provider_pb2_grpc
from exchange.wire import from_message, to_message

from .bulk import DigestChain, ScanBinding, manifest_json
from .config import AdapterConfig, TlsConfig, load_signer
from .ipc import (
    MAX_MESSAGE_BYTES,
    add_servicer_passing_bytes,
    batch_messages,
    batch_response,
    keep_freed_memory_for_reuse,
    schema_message,
)
from .sdk import Adapter, SourceAdapter
from .signing import DocumentSigner, SignedDocument
from .sources.base import check_batch_rows

log = logging.getLogger(__name__)

Ctx = aio.ServicerContext[Any, Any]
SERVICE_NAME = provider_pb2.DESCRIPTOR.services_by_name["ProviderService"].full_name
DEFAULT_SCAN_ROWS = 65536
# Licence validity ends at the end of the day, in the issuing authorities' time zone.
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def signed_to_proto(doc: SignedDocument) -> provider_pb2.SignedDocument:
    """The wire form of a signed document."""
    # Format 2 sends the fields as disclosures only: the document bytes would repeat them.
    return to_message(provider_pb2.SignedDocument, doc, document_json=doc.document_json if doc.format == 1 else b"")


def signed_from_proto(d: provider_pb2.SignedDocument) -> SignedDocument:
    """A signed document as it arrived (format 0 on the wire is 1: adapters from before format 2)."""
    return from_message(SignedDocument, d, format=d.format or 1)


def end_of_day_us(day: dt.date) -> int:
    """The first microsecond after day ends, local time, since the epoch."""
    start = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), LOCAL_ZONE)
    return int(start.timestamp() * 1_000_000)


class ProviderServicer(provider_pb2_grpc.ProviderServiceServicer):
    """Translates Provider RPCs to an Adapter and signs its documents."""

    def __init__(self, adapter: Adapter, signer: DocumentSigner, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        if signer.issuer != adapter.department:
            raise InvalidArgument(
                f"the signing key belongs to {signer.issuer}, the adapter serves {adapter.department}",
                reason="ADAPTER_CONFIG_INVALID",
            )
        self.adapter = adapter
        self.signer = signer
        self.max_message_bytes = max_message_bytes

    async def Lookup(self, request: provider_pb2.LookupRequest, context: Ctx) -> provider_pb2.LookupResponse:
        ds, key, document = await self.adapter.checked_lookup(request.dataset, request.key)
        if document is None:
            return provider_pb2.LookupResponse(found=False)
        signed = self.signer.sign(ds.code, ds.version, key, document)
        return provider_pb2.LookupResponse(found=True, document=signed_to_proto(signed))

    async def Scan(
        self, request: provider_pb2.ProviderServiceScanRequest, context: Ctx
    ) -> AsyncIterator[provider_pb2.ProviderServiceScanResponse]:
        batch_rows = check_batch_rows(request.batch_rows) if request.batch_rows else DEFAULT_SCAN_ROWS
        schema, batches = self.adapter.checked_scan(request.dataset, list(request.columns), request.filter, batch_rows)
        ds = self.adapter.datasets[request.dataset]
        binding = ScanBinding.of(
            issuer=self.signer.issuer,
            dataset=ds.code,
            version=ds.version,
            schema=schema,
            filter=request.filter,
            request_id=request.request_id,
            nonce=request.nonce,
        )
        chain = DigestChain(binding.chain_start(), f"the scan of {ds.code}")
        # The hub passes a signed batch on whole, never re-cut: cut to the size it says it passes.
        max_bytes = min(self.max_message_bytes, request.max_message_bytes or self.max_message_bytes)
        try:
            async with contextlib.aclosing(batches):
                yield provider_pb2.ProviderServiceScanResponse(arrow_schema=schema_message(schema))
                async for batch in batches:
                    for rows, message in batch_messages(batch, max_bytes):
                        # Encoded here, sent as it is: no protobuf copy of the batch, no second encoding.
                        yield batch_response(rows, message, chain.extend(message, rows))  # type: ignore[misc]
                manifest = manifest_json(binding, chain, kid=self.signer.kid, closed_at_us=time.time_ns() // 1000)
                yield provider_pb2.ProviderServiceScanResponse(
                    manifest_json=manifest, manifest_signature=self.signer.sign_scan_manifest(manifest)
                )
        finally:
            # Arrow's allocator keeps freed pages for reuse; after a big scan, give them back to the system.
            pa.default_memory_pool().release_unused()

    async def Status(self, request: provider_pb2.StatusRequest, context: Ctx) -> provider_pb2.StatusResponse:
        status = await self.adapter.status(request.dataset, request.key)
        return provider_pb2.StatusResponse(
            found=status.found,
            status_code=status.status_code,
            valid_until_us=end_of_day_us(status.valid_until) if status.valid_until else 0,
            valid=status.valid_on(dt.datetime.now(LOCAL_ZONE).date()),
            checked_at_us=status.checked_at_us,
        )

    async def WatchStatus(
        self, request: provider_pb2.WatchStatusRequest, context: Ctx
    ) -> AsyncIterator[provider_pb2.WatchStatusResponse]:
        yield provider_pb2.WatchStatusResponse()  # empty: the watch is open, changes follow
        async for change in self.adapter.status_changes():
            yield provider_pb2.WatchStatusResponse(
                dataset=change.dataset,
                key=change.key,
                status_code=change.status_code,
                valid_until_us=end_of_day_us(change.valid_until) if change.valid_until else 0,
                changed_at_us=change.changed_at_us,
            )

    async def Describe(self, request: provider_pb2.DescribeRequest, context: Ctx) -> provider_pb2.DescribeResponse:
        return provider_pb2.DescribeResponse(
            department=self.adapter.department,
            datasets=[
                provider_pb2.ServedDataset(dataset=ds.code, version=ds.version, source=self.adapter.source_kinds[code])
                for code, ds in self.adapter.datasets.items()
            ],
        )


class HubOnlyDoor:
    """Admits a call only from the hub's client certificate, checked by name and against the CA's CRL.

    Runs before every Provider handler (the error interceptor's ``before``); health checking stays
    open. Each refusal is one structured log line naming the peer, since the adapter has no access log.
    """

    def __init__(self, department: str, hub_identity: str, revocations: RevocationList | None = None) -> None:
        self.department = department
        self.hub_identity = hub_identity
        self.revocations = revocations

    async def __call__(self, method: str, context: Ctx) -> None:
        auth_context = {k: list(v) for k, v in context.auth_context().items()}
        certificate = peer_certificate(auth_context)
        uris = certificate_uris(certificate) if certificate is not None else []
        try:
            if certificate is None:
                raise Unauthenticated(
                    f"the adapter of {self.department} answers the hub only; present the hub's client certificate",
                    reason="CLIENT_CERTIFICATE_MISSING",
                )
            if self.hub_identity not in uris:
                raise PermissionDenied(
                    f"the adapter of {self.department} answers the hub ({self.hub_identity}) only; "
                    "departments call the hub, never an adapter",
                    reason="ADAPTER_CALLER_NOT_HUB",
                )
            if self.revocations is not None:
                self.revocations.check_chain(peer_chain(auth_context), self.hub_identity)
        except (PermissionDenied, Unauthenticated) as error:
            self._log_refusal(method, context, certificate, uris, error.reason)
            raise

    def _log_refusal(
        self, method: str, context: Ctx, certificate: x509.Certificate | None, uris: list[str], reason: str
    ) -> None:
        """key=value fields on one line, so the adapter's log can be searched like the hub's."""
        log.warning(
            "adapter_call_refused department=%s method=%s reason=%s peer=%s identity=%s serial=%s",
            self.department,
            method,
            reason,
            context.peer(),
            ",".join(uris) or "-",
            f"{certificate.serial_number:x}" if certificate is not None else "-",
            extra={
                "event": "adapter_call_refused",
                "department": self.department,
                "method": method,
                "reason": reason,
                "peer": context.peer(),
                "peer_identity": uris,
            },
        )


def hub_only_door(department: str, tls: TlsConfig) -> HubOnlyDoor:
    """The door for an adapter with tls: its hub identity, and the CRL of the CA in client_ca."""
    assert tls.client_ca is not None
    try:
        revocations = RevocationList(tls.crl, tls.client_ca.read_bytes()) if tls.crl else None
    except (OSError, InvalidArgument) as exc:
        raise InvalidArgument(
            f"tls.crl: cannot use {tls.crl}: {exc}",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[FieldViolation("tls.crl", "not a CRL signed by the CA in tls.client_ca")],
        ) from exc
    return HubOnlyDoor(department, tls.hub_identity, revocations)


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """TLS with the adapter's certificate; mTLS (the hub must present a certificate) when client_ca is set."""
    try:
        key, cert = tls.key.read_bytes(), tls.cert.read_bytes()
        client_ca = tls.client_ca.read_bytes() if tls.client_ca else None
    except OSError as exc:
        raise InvalidArgument(
            f"cannot read the adapter's TLS files: {exc}",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[FieldViolation("tls", f"unreadable: {exc.filename}")],
        ) from exc
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca, require_client_auth=bool(client_ca))


@dataclass
class RunningAdapter:
    """A started Provider server: its port, and how to stop it."""

    port: int
    server: aio.Server
    adapter: Adapter
    health: health.aio.HealthServicer
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    watching: asyncio.Task[None] | None = None

    async def stop(self, grace: float = 5.0) -> None:
        """Say NOT_SERVING, let calls in flight finish (up to grace seconds), close the sources."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        if self.watching is not None:
            self.watching.cancel()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.adapter.close()


async def start_provider(
    adapter: Adapter,
    signer: DocumentSigner,
    *,
    listen: str,
    tls: TlsConfig | None = None,
    insecure_dev: bool = False,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    status_watch_seconds: float = 0.0,
) -> RunningAdapter:
    """Serve adapter as ProviderService on listen; plain text only when insecure_dev is asked for.

    With status_watch_seconds, the licences the hub fetched are re-read that often and changes pushed.
    """
    if tls is None and not insecure_dev:
        raise InvalidArgument(
            "an adapter serves over TLS: configure tls (cert, key, client_ca), or insecure_dev: true for development",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[FieldViolation("tls", "required unless insecure_dev is true")],
        )
    if tls is not None and tls.client_ca is None:
        raise InvalidArgument(
            "an adapter over TLS admits the hub alone: set tls.client_ca to the hub's CA certificate",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[FieldViolation("tls.client_ca", "required unless insecure_dev is true")],
        )
    keep_freed_memory_for_reuse()  # scans stream 2 MiB messages: see adapters.ipc
    servicer = ProviderServicer(adapter, signer, max_message_bytes=max_message_bytes)
    door = hub_only_door(adapter.department, tls) if tls is not None else None
    server = aio.server(
        interceptors=[TracingInterceptor(), ErrorMappingInterceptor(door)],
        options=[
            ("grpc.max_send_message_length", max_message_bytes + 1024 * 1024),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 60_000),
        ],
    )
    add_servicer_passing_bytes(provider_pb2_grpc.add_ProviderServiceServicer_to_server, servicer, server, "Scan")
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if tls is None:
        log.warning("INSECURE DEV MODE: adapter %s serves plain text on %s", adapter.department, listen)
        port = server.add_insecure_port(listen)
    else:
        port = server.add_secure_port(listen, server_credentials(tls))
    if port == 0:
        raise InvalidArgument(f"cannot listen on {listen}", reason="ADAPTER_LISTEN_FAILED")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    running = RunningAdapter(port, server, adapter, health_servicer)
    if status_watch_seconds > 0:
        running.watching = asyncio.create_task(adapter.watch_statuses(status_watch_seconds), name="status-watch")
    return running


async def start_adapter(config: AdapterConfig, *, listen: str | None = None) -> RunningAdapter:
    """Start the adapter a configuration file describes (built-in sources, the department's signing key)."""
    signer = load_signer(config)
    adapter = SourceAdapter.from_config(config)
    try:
        return await start_provider(
            adapter,
            signer,
            listen=listen or config.listen,
            tls=config.tls,
            insecure_dev=config.insecure_dev and config.tls is None,
            status_watch_seconds=config.status_watch_seconds,
        )
    except BaseException:
        await adapter.close()
        raise


async def serve_until_signalled(running: RunningAdapter, on_ready: Callable[[RunningAdapter], None]) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    on_ready(running)
    await stop.wait()
    log.info("adapter %s stopping: finishing calls in flight", running.adapter.department)
    await running.stop()
