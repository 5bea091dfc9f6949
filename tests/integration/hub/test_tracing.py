"""A fetch is one trace from the caller through the hub to the adapter, and its log entry names the trace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from exchange import tracing
from exchange.v1 import common_pb2, exchange_pb2
from tests.integration.hub.test_fetch import world  # noqa: F401  (the fixture: a hub, SAMR's adapter, a case)

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


async def _fetch(world, metadata=()) -> None:  # noqa: F811
    officer = world["officer"]
    await world["admin"].create_grant("SAMR", "business_licence", ["*"])
    request = exchange_pb2.FetchRequest(
        dataset="business_licence",
        key=world["doc"]["unified_social_credit_code"],
        purpose=common_pb2.Purpose(case_id=world["case"]),
    )
    await officer._stubs.exchange.Fetch(request, metadata=(*officer.metadata(), *metadata), timeout=10)


async def test_hub_and_adapter_spans_of_a_fetch_form_one_trace_named_in_the_log(world, spans):  # noqa: F811
    await _fetch(world, (("traceparent", TRACEPARENT),))
    finished = list(spans.get_finished_spans())
    served = _one(finished, "exchange.v1.ExchangeService/Fetch")
    called = _one(finished, "SAMR Lookup")
    answered = _one(finished, "exchange.v1.ProviderService/Lookup")
    assert format(served.context.trace_id, "032x") == CALLER_TRACE  # the caller's trace, continued
    assert {s.context.trace_id for s in (served, called, answered)} == {served.context.trace_id}
    assert called.parent is not None and called.parent.span_id == served.context.span_id
    assert answered.parent is not None and answered.parent.span_id == called.context.span_id
    entry = [e for e in await world["hub"].log_entries() if e.action == "exchange.fetch"][-1]
    assert entry.details["trace_id"] == CALLER_TRACE


async def test_without_an_exporter_the_callers_trace_still_reaches_the_log(world):  # noqa: F811
    await _fetch(world, (("traceparent", TRACEPARENT),))
    entry = [e for e in await world["hub"].log_entries() if e.action == "exchange.fetch"][-1]
    assert entry.decision == "allow" and entry.details["trace_id"] == CALLER_TRACE


async def test_a_call_without_a_trace_leaves_none_in_the_log(world):  # noqa: F811
    await _fetch(world)
    entry = [e for e in await world["hub"].log_entries() if e.action == "exchange.fetch"][-1]
    assert "trace_id" not in entry.details
