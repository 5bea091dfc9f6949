"""The hub's client for department adapters: deadlines, retries, a circuit breaker per department.

Every failure names the department and what failed: UNAVAILABLE for a dead adapter
(or an open circuit), DEADLINE_EXCEEDED for a slow one, NOT_FOUND for an unknown key.
Only idempotent calls (Lookup, Status, Describe) are retried, with jittered backoff.

Over TLS the hub checks who answers at a department's endpoint: the server certificate must
carry ``urn:exchange:adapter:<department>`` (and the host name dialled, and not be revoked),
else ADAPTER_IDENTITY_MISMATCH. grpc Python shows a client nothing of the server's certificate,
so `AdapterIdentityCheck` makes its own TLS handshake before a channel (re)connects, and the
channel pins the department's adapter DNS name as its TLS target name, so grpc itself refuses
another department's certificate on every connection it makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import ssl
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import grpc
from cryptography import x509
from grpc import aio

from adapters.signing import SignedDocument
from exchange import metrics, tracing
from exchange.auth.pki import RevocationList, adapter_dns_name, adapter_identity, certificate_uris
from exchange.errors import DeadlineExceeded, ExchangeError, NotFound, Unauthenticated, Unavailable
from exchange.status import from_rpc_error
from exchange.v1 import provider_pb2, provider_pb2_grpc

log = logging.getLogger(__name__)

T = TypeVar("T")
# The stubs' typed async form exists for the type checker only.
Stub: TypeAlias = "provider_pb2_grpc.ProviderServiceAsyncStub"
# One attempt at a call: given the stub and the seconds it may take, the answer.
Attempt: TypeAlias = Callable[[Stub, float], Awaitable[T]]

_RETRYABLE = {grpc.StatusCode.UNAVAILABLE}
_SCAN_METHOD = "/exchange.v1.ProviderService/Scan"
_serialize_scan_request = provider_pb2.ProviderServiceScanRequest.SerializeToString
# After a successful identity check, calls within this window need no other while the channel connects.
_VERIFIED_FOR_SECONDS = 1.0


@dataclass
class CircuitBreaker:
    """Opens after `failures` consecutive failures; lets one trial call through after `reset_seconds`."""

    failures: int = 5
    reset_seconds: float = 10.0
    consecutive: int = 0
    opened_at: float = 0.0
    clock: Callable[[], float] = field(default=time.monotonic)

    def allow(self) -> bool:
        if self.consecutive < self.failures:
            return True
        return self.clock() - self.opened_at >= self.reset_seconds

    def record_success(self) -> None:
        self.consecutive = 0

    def record_failure(self) -> None:
        self.consecutive += 1
        if self.consecutive >= self.failures:
            self.opened_at = self.clock()

    @property
    def open(self) -> bool:
        return not self.allow()


def _unavailable(department: str, endpoint: str, what: str, error: aio.AioRpcError) -> Unavailable:
    """UNAVAILABLE from an adapter: either it cannot be reached, or it cannot reach its own source."""
    upstream = from_rpc_error(error).reason.startswith("UPSTREAM_")
    return Unavailable(
        f"adapter of {department} at {endpoint} "
        + ("cannot reach its own data source" if upstream else "is unreachable")
        + f" ({what}): {error.details()}",
        reason="ADAPTER_UPSTREAM_UNAVAILABLE" if upstream else "ADAPTER_UNAVAILABLE",
    )


@dataclass(frozen=True)
class DocumentStatus:
    """What an issuer's adapter says of a document now (Provider.Status)."""

    found: bool
    valid: bool
    status_code: str
    valid_until_us: int


def scan_schema(first_response: bytes) -> bytes:
    """The Arrow schema an adapter's first (encoded) scan response carries (DecodeError when it does not parse)."""
    return provider_pb2.ProviderServiceScanResponse.FromString(first_response).arrow_schema


@dataclass(frozen=True)
class ScanClosing:
    """What an adapter's closing scan message holds: its manifest and signature, and whether rows came with it."""

    manifest_json: bytes
    manifest_signature: bytes
    carries_rows: bool


def scan_closing(last_response: bytes) -> ScanClosing:
    """The closing manifest of an adapter's (encoded) last scan response (DecodeError when it does not parse)."""
    message = provider_pb2.ProviderServiceScanResponse.FromString(last_response)
    rows = bool(message.arrow_schema or message.arrow_batch or message.rows or message.chain)
    return ScanClosing(message.manifest_json, message.manifest_signature, rows)


@dataclass(frozen=True)
class ScanLimits:
    """How long a scan's adapter may take: to the first message, between messages, and in all (seconds)."""

    first_message: float | None = None
    idle: float | None = None
    total: float | None = None


@dataclass(frozen=True)
class TransportSecurity:
    """How the hub reaches adapters: plain text (dev only) or TLS, with the hub's client certificate."""

    root_ca: bytes | None = None
    client_cert: bytes | None = None
    client_key: bytes | None = None
    # The CA's CRL: an adapter whose server certificate is on it is not called.
    revocations: RevocationList | None = None

    @property
    def insecure(self) -> bool:
        return self.root_ca is None


def _host_and_port(endpoint: str) -> tuple[str, int]:
    """Split a registered endpoint (host:port or [v6]:port)."""
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


_REFUSED_HUB = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


def _refused_hub(department: str, error: aio.AioRpcError) -> Unavailable:
    """The adapter refused the hub itself: the hub's caller is not to blame, so it is not told UNAUTHENTICATED."""
    reason = from_rpc_error(error).reason
    return Unavailable(
        f"adapter of {department} refused the hub's client certificate ({reason}): {error.details()}; "
        "check the hub's tls_client_cert / tls_client_key and the adapter's tls.hub_identity and tls.crl",
        reason="ADAPTER_REFUSED_HUB",
    )


def _mismatch(department: str, endpoint: str, found: str) -> Unavailable:
    return Unavailable(
        f"the server at {endpoint} is not the adapter of {department}: its certificate {found}; "
        f"issue the adapter's certificate with 'exchange pki issue-adapter {department} --host <host>'",
        reason="ADAPTER_IDENTITY_MISMATCH",
    )


class AdapterIdentityCheck:
    """A TLS handshake of our own with an adapter endpoint, to read and check the server's certificate."""

    def __init__(self, security: TransportSecurity, *, timeout_seconds: float) -> None:
        self.security = security
        self.timeout = timeout_seconds
        self._context: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        """The hub's trust and client certificate, as the channels use them (made once)."""
        if self._context is None:
            assert self.security.root_ca is not None
            context = ssl.create_default_context(cadata=self.security.root_ca.decode("ascii"))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols(["h2"])
            if self.security.client_cert and self.security.client_key:
                # ssl loads a certificate chain from files only: a private directory, removed at once.
                with tempfile.TemporaryDirectory(prefix="exchange-tls-") as folder:
                    cert, key = os.path.join(folder, "client.crt"), os.path.join(folder, "client.key")
                    for path, data in ((cert, self.security.client_cert), (key, self.security.client_key)):
                        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                            out.write(data)
                    context.load_cert_chain(cert, key)
            self._context = context
        return self._context

    async def peer_certificate(self, department: str, endpoint: str) -> x509.Certificate:
        """The certificate the server at endpoint presents, verified for the host name dialled."""
        host, port = _host_and_port(endpoint)
        try:
            async with asyncio.timeout(self.timeout):
                _, writer = await asyncio.open_connection(host, port, ssl=self._ssl_context(), server_hostname=host)
        except ssl.SSLCertVerificationError as error:
            raise _mismatch(department, endpoint, f"does not verify: {error.verify_message}") from None
        except (OSError, TimeoutError) as error:
            raise Unavailable(
                f"adapter of {department} at {endpoint} is unreachable (TLS handshake): {error}",
                reason="ADAPTER_UNAVAILABLE",
            ) from None
        try:
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        finally:
            writer.close()
        return x509.load_der_x509_certificate(der)

    async def verify(self, department: str, endpoint: str) -> None:
        """Refuse a server that is not department's adapter (ADAPTER_IDENTITY_MISMATCH) or is revoked."""
        certificate = await self.peer_certificate(department, endpoint)
        uris = certificate_uris(certificate)
        if adapter_identity(department) not in uris:
            named = ", ".join(uris) or "no URI"
            raise _mismatch(department, endpoint, f"names {named}, not {adapter_identity(department)}")
        if self.security.revocations is not None:
            try:
                self.security.revocations.check(certificate, f"the adapter of {department}")
            except Unauthenticated as error:
                raise Unavailable(error.message, reason="ADAPTER_CERTIFICATE_REVOKED") from None


class AdapterClient:
    """One channel per department adapter, opened on first use and kept."""

    def __init__(
        self,
        security: TransportSecurity,
        *,
        timeout_seconds: float = 3.0,
        retries: int = 2,
        breaker_failures: int = 5,
        breaker_reset_seconds: float = 10.0,
        max_message_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.security = security
        self.timeout = timeout_seconds
        self.retries = retries
        self._breaker_settings = (breaker_failures, breaker_reset_seconds)
        self._max_message_bytes = max_message_bytes
        self._channels: dict[str, tuple[aio.Channel, Stub]] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self.calls = 0
        self.identity = None if security.insecure else AdapterIdentityCheck(security, timeout_seconds=timeout_seconds)
        self._verified: dict[str, float] = {}
        self._verifying: dict[str, asyncio.Lock] = {}

    async def _verify_identity(self, department: str, endpoint: str) -> None:
        """Check the server at endpoint before the channel (re)connects; a connected channel is not re-checked."""
        if self.identity is None:
            return
        known = self._channels.get(department)
        if known is not None and known[0].get_state() == grpc.ChannelConnectivity.READY:
            return
        lock = self._verifying.setdefault(department, asyncio.Lock())
        async with lock:
            # Calls that waited for the lock ride on the check just made (the channel connects right after it).
            if time.monotonic() - self._verified.get(department + "@" + endpoint, -1e9) < _VERIFIED_FOR_SECONDS:
                return
            await self.identity.verify(department, endpoint)
            self._verified[department + "@" + endpoint] = time.monotonic()

    def _stub(self, department: str, endpoint: str) -> Stub:
        return self._connection(department, endpoint)[1]

    def _connection(self, department: str, endpoint: str) -> tuple[aio.Channel, Stub]:
        known = self._channels.get(department)
        if known is not None and known[0] is not None and getattr(known[0], "_endpoint", endpoint) == endpoint:
            return known
        options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", self._max_message_bytes),
            ("grpc.keepalive_time_ms", 300_000),
        ]
        if self.security.insecure:
            channel = aio.insecure_channel(endpoint, options=options)
        else:
            credentials = grpc.ssl_channel_credentials(
                self.security.root_ca, self.security.client_key, self.security.client_cert
            )
            # grpc checks this name, not the host, on every connection: only department's adapter carries it.
            options.append(("grpc.ssl_target_name_override", adapter_dns_name(department)))
            channel = aio.secure_channel(endpoint, credentials, options=options)
        channel._endpoint = endpoint  # type: ignore[attr-defined]
        stub = provider_pb2_grpc.ProviderServiceStub(channel)
        self._channels[department] = (channel, stub)
        return channel, stub

    def breaker(self, department: str) -> CircuitBreaker:
        if department not in self.breakers:
            failures, reset = self._breaker_settings
            self.breakers[department] = CircuitBreaker(failures, reset)
        return self.breakers[department]

    async def _call(
        self, department: str, endpoint: str, what: str, call: Attempt[T], *, deadline: float | None, idempotent: bool
    ) -> T:
        """One adapter call with its retries, timed and counted per department (`what` starts with the call's kind)."""
        started, failure = time.perf_counter(), None
        try:
            return await self._attempts(department, endpoint, what, call, deadline=deadline, idempotent=idempotent)
        except ExchangeError as error:
            # An unknown key is an answer, not an adapter failure.
            failure = None if isinstance(error, NotFound) else error.reason
            raise
        finally:
            metrics.adapter_call(department, what.split(" ", 1)[0], time.perf_counter() - started, failure)

    async def _attempts(
        self, department: str, endpoint: str, what: str, call: Attempt[T], *, deadline: float | None, idempotent: bool
    ) -> T:
        if not endpoint:
            raise Unavailable(
                f"department {department} has no adapter endpoint registered; {what} is impossible",
                reason="ADAPTER_NOT_CONFIGURED",
            )
        breaker = self.breaker(department)
        if not breaker.allow():
            raise Unavailable(
                f"adapter of {department} failed {breaker.consecutive} times in a row; "
                f"calls are paused for {breaker.reset_seconds:.0f} s (circuit open)",
                reason="ADAPTER_CIRCUIT_OPEN",
            )
        try:
            await self._verify_identity(department, endpoint)
        except Unavailable as error:
            if error.reason != "ADAPTER_UNAVAILABLE":
                breaker.record_failure()
                raise
        stub = self._stub(department, endpoint)
        attempts = 1 + (self.retries if idempotent else 0)
        budget_end = time.monotonic() + (deadline if deadline is not None else self.timeout)
        # A caller's deadline shorter than ours cuts a call short through no fault of the adapter: such a
        # timeout is not counted by the breaker, or callers with tiny deadlines would open it for everyone.
        ours = deadline is None or deadline >= self.timeout
        for attempt in range(attempts):
            remaining = budget_end - time.monotonic()
            if remaining <= 0:
                break
            self.calls += 1
            try:
                result = await call(stub, min(remaining, self.timeout))
            except aio.AioRpcError as error:
                code = error.code()
                if code == grpc.StatusCode.NOT_FOUND:
                    breaker.record_success()
                    reason = from_rpc_error(error).reason
                    raise NotFound(
                        f"{department}: {error.details()}",
                        reason=reason if reason != "NOT_FOUND" else "KEY_NOT_FOUND",
                    ) from None
                if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    if ours:
                        breaker.record_failure()
                    raise DeadlineExceeded(
                        f"adapter of {department} did not answer {what} within {min(remaining, self.timeout):.1f} s",
                        reason="ADAPTER_TIMEOUT",
                    ) from None
                if code in _RETRYABLE and attempt + 1 < attempts:
                    await asyncio.sleep(min(0.05 * 2**attempt, 0.5) * (0.5 + random.random()))
                    continue
                if code in _RETRYABLE:
                    breaker.record_failure()
                    raise _unavailable(department, endpoint, what, error) from None
                if code in _REFUSED_HUB:
                    breaker.record_failure()
                    raise _refused_hub(department, error) from None
                breaker.record_success()
                translated = from_rpc_error(error)
                translated.message = f"adapter of {department} refused {what}: {translated.message}"
                translated.args = (translated.message,)
                raise translated from None
            breaker.record_success()
            return result
        if ours:
            breaker.record_failure()
        raise DeadlineExceeded(f"adapter of {department} did not answer {what} in time", reason="ADAPTER_TIMEOUT")

    async def _traced(
        self, department: str, endpoint: str, what: str, method: str, request: Any, deadline: float | None
    ) -> Any:
        """An idempotent call of the stub's `method`, in a client span (named for the department and the
        method) whose trace travels with it."""

        async def call(stub: Stub, limit: float) -> Any:
            with tracing.client_span(f"{department} {method}") as trace_metadata:
                return await getattr(stub, method)(request, timeout=limit, metadata=trace_metadata)

        return await self._call(department, endpoint, what, call, deadline=deadline, idempotent=True)

    async def lookup(
        self, department: str, endpoint: str, request: provider_pb2.LookupRequest, *, deadline: float | None = None
    ) -> provider_pb2.LookupResponse:
        return await self._traced(department, endpoint, f"lookup in {request.dataset}", "Lookup", request, deadline)

    async def status(
        self, department: str, endpoint: str, request: provider_pb2.StatusRequest, *, deadline: float | None = None
    ) -> provider_pb2.StatusResponse:
        return await self._traced(
            department, endpoint, f"status check in {request.dataset}", "Status", request, deadline
        )

    async def lookup_document(
        self,
        department: str,
        endpoint: str,
        *,
        dataset: str,
        key: str,
        request_id: str,
        request_digest: str,
        deadline: float | None = None,
    ) -> SignedDocument | None:
        """The signed document an adapter holds under `key` in `dataset` (None when it has none)."""
        request = provider_pb2.LookupRequest(
            dataset=dataset, key=key, request_id=request_id, request_digest=request_digest
        )
        response = await self.lookup(department, endpoint, request, deadline=deadline)
        # Imported here: adapters.server loads every source (aiohttp, SQL drivers), which the CLI, importing
        # this module through the hub, must not pay for at start-up.
        from adapters.server import signed_from_proto

        return signed_from_proto(response.document) if response.found else None

    async def document_status(self, department: str, endpoint: str, *, dataset: str, key: str) -> DocumentStatus:
        """The issuer's current word on one document: found, valid, its status code and validity."""
        answer = await self.status(department, endpoint, provider_pb2.StatusRequest(dataset=dataset, key=key))
        return DocumentStatus(answer.found, answer.valid, answer.status_code, answer.valid_until_us)

    def scan_table(
        self,
        department: str,
        endpoint: str,
        *,
        dataset: str,
        columns: list[str],
        row_filter: str,
        batch_rows: int,
        request_id: str,
        nonce: bytes = b"",
        max_message_bytes: int = 0,
        limits: ScanLimits | None = None,
    ) -> AsyncIterator[bytes]:
        """A table's rows from an adapter, each ProviderServiceScanResponse left encoded (see `scan_responses`).

        `nonce` binds the adapter's digest chain to this scan; `max_message_bytes` is the largest message the
        hub relays as it is (adapters.bulk)."""
        request = provider_pb2.ProviderServiceScanRequest(
            dataset=dataset,
            columns=columns,
            filter=row_filter,
            batch_rows=batch_rows,
            request_id=request_id,
            nonce=nonce,
            max_message_bytes=max_message_bytes,
        )
        return self.scan_responses(department, endpoint, request, limits=limits)

    async def describe(self, department: str, endpoint: str) -> provider_pb2.DescribeResponse:
        async def call(stub: Stub, limit: float) -> provider_pb2.DescribeResponse:
            return await stub.Describe(provider_pb2.DescribeRequest(), timeout=limit)

        return await self._call(department, endpoint, "describe", call, deadline=None, idempotent=True)

    async def scan(
        self,
        department: str,
        endpoint: str,
        request: provider_pb2.ProviderServiceScanRequest,
        *,
        limits: ScanLimits | None = None,
    ) -> AsyncIterator[provider_pb2.ProviderServiceScanResponse]:
        """Stream a table from an adapter, each response parsed; not retried (a stream may have been half consumed)."""
        async for response in self.scan_responses(department, endpoint, request, limits=limits):
            yield provider_pb2.ProviderServiceScanResponse.FromString(response)

    async def scan_responses(
        self,
        department: str,
        endpoint: str,
        request: provider_pb2.ProviderServiceScanRequest,
        *,
        limits: ScanLimits | None = None,
    ) -> AsyncIterator[bytes]:
        """The same stream with each ProviderServiceScanResponse left encoded, for a relay that passes bytes on.

        An adapter that never starts, falls silent mid-stream or runs past the whole scan's time is cut off
        with DEADLINE_EXCEEDED (ADAPTER_TIMEOUT): a hung department must not hold a hub stream open for ever.
        """
        started, failure = time.perf_counter(), None
        try:
            # Closed with this generator, so a relay that stops early ends the adapter's stream at once.
            async with contextlib.aclosing(self._scan_responses(department, endpoint, request, limits)) as stream:
                async for response in stream:
                    yield response
        except ExchangeError as error:
            failure = error.reason
            raise
        finally:
            # The whole stream, the consumer's pace included: watch its errors more than its duration.
            metrics.adapter_call(department, "scan", time.perf_counter() - started, failure)

    async def _scan_responses(
        self,
        department: str,
        endpoint: str,
        request: provider_pb2.ProviderServiceScanRequest,
        limits: ScanLimits | None,
    ) -> AsyncGenerator[bytes, None]:
        if not endpoint:
            raise Unavailable(
                f"department {department} has no adapter endpoint registered; {request.dataset} cannot be scanned",
                reason="ADAPTER_NOT_CONFIGURED",
            )
        breaker = self.breaker(department)
        if not breaker.allow():
            raise Unavailable(f"adapter of {department} is paused (circuit open)", reason="ADAPTER_CIRCUIT_OPEN")
        try:
            await self._verify_identity(department, endpoint)
        except Unavailable:
            breaker.record_failure()
            raise
        limits = limits or ScanLimits()
        channel, _ = self._connection(department, endpoint)
        # No response deserializer: gRPC hands over each message's bytes as they arrived.
        method: aio.UnaryStreamMultiCallable[provider_pb2.ProviderServiceScanRequest, bytes] = channel.unary_stream(
            _SCAN_METHOD, request_serializer=_serialize_scan_request
        )
        with tracing.client_span(f"{department} Scan") as trace_metadata:
            call = method(request, timeout=limits.total, metadata=trace_metadata)
        messages = call.__aiter__()
        wait, waiting_for = limits.first_message, "its first scan message"
        try:
            while True:
                try:
                    async with asyncio.timeout(wait):
                        response = await anext(messages)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    breaker.record_failure()
                    raise DeadlineExceeded(
                        f"adapter of {department} sent no {waiting_for} for {request.dataset} within {wait:g} s "
                        "(scan_first_message_timeout_seconds / scan_idle_timeout_seconds); the scan was stopped",
                        reason="ADAPTER_TIMEOUT",
                    ) from None
                yield response
                wait, waiting_for = limits.idle, "further scan message"
        except aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                breaker.record_failure()
                raise DeadlineExceeded(
                    f"adapter of {department} did not finish the scan of {request.dataset} in the time it had "
                    f"({limits.total:g} s at most: scan_max_seconds, or the caller's deadline)",
                    reason="ADAPTER_TIMEOUT",
                ) from None
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                breaker.record_failure()
                raise _unavailable(department, endpoint, f"scan of {request.dataset}", error) from None
            if error.code() in _REFUSED_HUB:
                breaker.record_failure()
                raise _refused_hub(department, error) from None
            translated: ExchangeError = from_rpc_error(error)
            raise translated from None
        finally:
            call.cancel()  # a no-op once the stream ended; otherwise the adapter stops working for nobody
        breaker.record_success()

    async def watch_status(self, department: str, endpoint: str) -> AsyncIterator[provider_pb2.WatchStatusResponse]:
        """The adapter's licence status changes as it pushes them, until it hangs up (then Unavailable)."""
        await self._verify_identity(department, endpoint)
        call = self._stub(department, endpoint).WatchStatus(provider_pb2.WatchStatusRequest())
        try:
            async for change in call:
                yield change
        except aio.AioRpcError as error:
            raise _unavailable(department, endpoint, "status watch", error) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        for channel, _ in self._channels.values():
            await channel.close()
        self._channels.clear()
