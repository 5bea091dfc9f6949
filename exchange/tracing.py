"""Traces across hub and adapters: W3C trace context in, spans (when configured) out, the trace id in the log.

Without an exporter (the default) nothing is recorded, but a caller's `traceparent` is still carried on to
the adapters and its trace id written into each access-log entry's details, so a department can find its
request in the log by its own trace. With `otlp_endpoint` set, the hub (and an adapter, through the same
interceptor) records a server span per RPC and a client span per adapter call and exports them over OTLP.
Tests hand in their own provider with `use_provider` (the SDK's in-memory exporter).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from exchange.interceptors import AroundInterceptor, Context

_PROPAGATOR = TraceContextTextMapPropagator()
_HEADERS = ("traceparent", "tracestate")
_tracer: Tracer | None = None


def use_provider(provider: TracerProvider | None) -> None:
    """Record spans with `provider` from now on (None: propagate trace context only)."""
    global _tracer
    _tracer = provider.get_tracer("exchange") if provider is not None else None


def configure(otlp_endpoint: str, service_name: str) -> None:
    """Export spans over OTLP/gRPC to `otlp_endpoint` (e.g. http://collector:4317); empty: no spans."""
    if not otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    use_provider(provider)


def current_trace_id() -> str:
    """The trace this code runs in, as 32 hex digits, or "" outside any trace."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


@contextlib.contextmanager
def server_span(method: str, metadata: Iterable[Any] | None) -> Iterator[None]:
    """The span of one served RPC, continuing the caller's trace when it sent one."""
    carrier = {item[0]: item[1] for item in (metadata or ()) if item[0] in _HEADERS and isinstance(item[1], str)}
    parent = _PROPAGATOR.extract(carrier) if carrier else None
    if _tracer is None:
        token = context.attach(parent) if parent is not None else None
        try:
            yield
        finally:
            if token is not None:
                context.detach(token)
        return
    service, _, name = method.lstrip("/").rpartition("/")
    attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
    with _tracer.start_as_current_span(method.lstrip("/"), context=parent, kind=SpanKind.SERVER, attributes=attributes):
        yield


@contextlib.contextmanager
def client_span(name: str) -> Iterator[tuple[tuple[str, str], ...]]:
    """A span for one outgoing call; yields the metadata that carries the trace to the callee."""
    carrier: dict[str, str] = {}
    if _tracer is None:
        _PROPAGATOR.inject(carrier)
        yield tuple(carrier.items())
        return
    with _tracer.start_as_current_span(name, kind=SpanKind.CLIENT):
        _PROPAGATOR.inject(carrier)
        yield tuple(carrier.items())


def _failed(error: BaseException) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))


class TracingInterceptor(AroundInterceptor):
    """Runs every RPC inside its server span (or the caller's trace context alone, without an exporter)."""

    @contextlib.asynccontextmanager
    async def around(self, method: str, context_: Context) -> AsyncIterator[None]:
        with server_span(method, context_.invocation_metadata()):
            try:
                yield
            except BaseException as error:
                _failed(error)
                raise


def with_trace_id(details: Mapping[str, str]) -> Mapping[str, str] | None:
    """`details` plus the current trace id, or None when there is no trace or it is already there."""
    trace_id = current_trace_id()
    if not trace_id or "trace_id" in details:
        return None
    return {**details, "trace_id": trace_id}
