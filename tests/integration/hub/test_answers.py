"""Right and bounded answers: the status a caller's mistake deserves, never INTERNAL, never an unbounded echo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc import aio

from exchange.auth.identity import Role
from exchange.errors import ExchangeError, InvalidArgument, NotFound
from exchange.status import MAX_MESSAGE_CHARS, quote
from exchange.testing import HubFixture
from exchange.v1 import access_pb2, audit_pb2, cases_pb2, catalog_pb2, common_pb2, exchange_pb2

from .test_every_attempt_logged import FetchWorld, make_fetch_world


@pytest.fixture
async def world(any_backend_hub: HubFixture) -> AsyncIterator[FetchWorld]:
    w = await make_fetch_world(any_backend_hub)
    w.adapter.release.set()
    try:
        yield w
    finally:
        for provider in w.stop:
            await provider.stop(grace=0)


@pytest.fixture
async def sqlite_world(hub: HubFixture) -> AsyncIterator[FetchWorld]:
    w = await make_fetch_world(hub)
    w.adapter.release.set()
    try:
        yield w
    finally:
        for provider in w.stop:
            await provider.stop(grace=0)


def auditor(hub: HubFixture) -> Any:
    return hub.client("HUB", officer="auditor-1", roles=[Role.AUDITOR])


# --- an unknown case -------------------------------------------------------------------------------


async def _fetch(w: FetchWorld, case: str) -> None:
    await w.officer.fetch("business_licence", w.uscc, case_id=case)


async def _attach(w: FetchWorld, case: str) -> None:
    await w.officer.attach_material(case, "business_licence", w.uscc)


async def _read(w: FetchWorld, case: str) -> None:
    await w.officer.get_material(case, "business_licence")


async def _get_case(w: FetchWorld, case: str) -> None:
    await w.officer.get_case(case)


async def _explain(w: FetchWorld, case: str) -> None:
    request = access_pb2.ExplainAccessRequest(
        department="SAMR", dataset="business_licence", purpose=common_pb2.Purpose(case_id=case)
    )
    await w.officer.call(w.officer._stubs.access.ExplainAccess, request)


async def _scan(w: FetchWorld, case: str) -> None:
    request = exchange_pb2.ScanRequest(dataset="business_licence", purpose=common_pb2.Purpose(case_id=case))
    async for _ in w.officer.stream(w.officer._stubs.exchange.Scan, request):
        pass


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        (_fetch, "exchange.fetch"),
        (_attach, "cases.material.attach"),
        (_read, "cases.material.read"),
        (_get_case, "cases.read"),
        (_explain, "authz.explain"),
    ],
)
async def test_an_unknown_case_is_not_found_and_logged_as_a_deny(world, operation, action):
    before = len(await world.hub.log_entries())
    with pytest.raises(NotFound) as missing:
        await operation(world, "c-does-not-exist")
    assert missing.value.reason == "CASE_NOT_FOUND"
    entries = [e for e in (await world.hub.log_entries())[before:] if e.action == action]
    assert [(e.decision, e.reason) for e in entries] == [("deny", "CASE_NOT_FOUND")]
    if operation is not _explain:  # the registry's refusal entry for ExplainAccess names no case
        assert entries[0].case_id == "c-does-not-exist"


async def test_an_unknown_case_in_a_scan_is_a_deny(hub):
    w = await make_fetch_world(hub)
    w.adapter.release.set()
    try:
        await hub.register_example_dataset("enterprise_register")
        request = exchange_pb2.ScanRequest(
            dataset="enterprise_register", purpose=common_pb2.Purpose(case_id="c-does-not-exist")
        )
        before = len(await hub.log_entries())
        with pytest.raises(NotFound) as missing:
            async for _ in w.officer.stream(w.officer._stubs.exchange.Scan, request):
                pass
        assert missing.value.reason == "CASE_NOT_FOUND"
        (entry,) = [e for e in (await hub.log_entries())[before:] if e.action == "exchange.scan"]
        assert (entry.decision, entry.reason) == ("deny", "CASE_NOT_FOUND")
    finally:
        for provider in w.stop:
            await provider.stop(grace=0)


# --- page tokens -----------------------------------------------------------------------------------

BAD_TOKENS = ["²", "9" * 19, "1" * 40, "-1", "12a", " 1", "١٢"]


async def test_bad_page_tokens_are_invalid_argument_everywhere(hub):
    officer, reader = hub.client("HUB"), auditor(hub)
    for token in BAD_TOKENS:
        page = common_pb2.PageRequest(page_token=token)
        calls = [
            (officer, officer._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest(page=page)),
            (officer, officer._stubs.cases.ListCases, cases_pb2.ListCasesRequest(page=page)),
            (
                reader,
                reader._stubs.audit.GetSubjectReport,
                audit_pb2.GetSubjectReportRequest(subject_id="x", page=page),
            ),
        ]
        for client, method, request in calls:
            with pytest.raises(InvalidArgument) as refused:
                await client.call(method, request)
            assert refused.value.reason == "PAGE_TOKEN_INVALID", (token, method)
            assert "page_token" in refused.value.message
        with pytest.raises(InvalidArgument) as refused:
            async for _ in reader.stream(reader._stubs.audit.QueryEntries, audit_pb2.QueryEntriesRequest(page=page)):
                pass
        assert refused.value.reason == "PAGE_TOKEN_INVALID", token


async def test_a_large_but_valid_page_token_is_an_empty_page(any_backend_hub):
    reader = auditor(any_backend_hub)
    page = common_pb2.PageRequest(page_token="9" * 18)
    answer = await reader.call(
        reader._stubs.audit.GetSubjectReport, audit_pb2.GetSubjectReportRequest(subject_id="x", page=page)
    )
    assert list(answer.accesses) == []


# --- indexes and sizes beyond the log --------------------------------------------------------------

HUGE = 2**64 - 1


async def test_an_entry_index_past_the_log_is_out_of_range_with_the_tree_size(any_backend_hub):
    reader = auditor(any_backend_hub)
    for index in (HUGE, 2**63, 2**63 - 1, 20):
        size = len(await any_backend_hub.log_entries())  # each refusal is logged, so the log grows
        with pytest.raises(ExchangeError) as refused:
            await reader.call(reader._stubs.audit.GetEntry, audit_pb2.GetEntryRequest(index=index))
        assert refused.value.grpc_code == grpc.StatusCode.OUT_OF_RANGE
        assert refused.value.reason == "ENTRY_OUT_OF_RANGE"
        assert f"holds {size} entries" in refused.value.message
    refusals = [e for e in await any_backend_hub.log_entries() if e.action == "audit.entry.read"]
    assert [(e.decision, e.reason) for e in refusals] == [("deny", "ENTRY_OUT_OF_RANGE")] * 4


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("GetInclusionProof", audit_pb2.GetInclusionProofRequest(index=HUGE)),
        ("GetInclusionProof", audit_pb2.GetInclusionProofRequest(index=1, tree_size=HUGE)),
        ("GetInclusionProof", audit_pb2.GetInclusionProofRequest(index=HUGE, tree_size=1)),
        ("GetEvidenceBundle", audit_pb2.GetEvidenceBundleRequest(index=HUGE)),
        ("GetConsistencyProof", audit_pb2.GetConsistencyProofRequest(old_size=HUGE)),
        ("GetConsistencyProof", audit_pb2.GetConsistencyProofRequest(old_size=1, new_size=HUGE)),
    ],
)
async def test_proofs_past_the_log_are_never_internal(hub, method, request_):
    reader = auditor(hub)
    with pytest.raises(ExchangeError) as refused:
        await reader.call(getattr(reader._stubs.audit, method), request_)
    assert refused.value.grpc_code in (
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
    )


# --- bounded error output --------------------------------------------------------------------------

LONG = "案" * 10_000


async def test_ten_thousand_character_inputs_get_the_real_status_with_a_short_message(sqlite_world):
    # Values beyond their limit (catalog.limits) are refused at the edge, naming the field: INVALID_ARGUMENT.
    world = sqlite_world
    officer = world.officer
    admin = world.hub.client("HUB", roles=[Role.HUB_ADMIN])
    attempts: list[tuple[Any, Any, Any, str]] = [
        (
            officer,
            officer._stubs.exchange.Fetch,
            world.request(purpose=common_pb2.Purpose(case_id=LONG)),
            "INVALID_ARGUMENT",
        ),
        (officer, officer._stubs.exchange.Fetch, world.request(fields=[LONG] * 50), "INVALID_ARGUMENT"),
        (officer, officer._stubs.cases.GetCase, cases_pb2.GetCaseRequest(id=LONG), "INVALID_ARGUMENT"),
        (
            officer,
            officer._stubs.catalog.GetDataset,
            catalog_pb2.GetDatasetRequest(code=LONG),
            "INVALID_ARGUMENT",
        ),
        (
            admin,
            admin._stubs.audit.SetHiddenAccesses,
            audit_pb2.SetHiddenAccessesRequest(department=LONG, hidden=True, legal_basis="x"),
            "INVALID_ARGUMENT",
        ),
    ]
    for client, method, request, code in attempts:
        call = method(request, metadata=client.metadata(), timeout=10)
        with pytest.raises(aio.AioRpcError) as failed:
            await call
        assert failed.value.code().name == code, (method, failed.value.code(), (failed.value.details() or "")[:200])
        assert len(failed.value.details() or "") <= MAX_MESSAGE_CHARS
        trailers = sum(len(k) + len(v) for k, v in (failed.value.trailing_metadata() or ()))
        assert trailers < 8 * 1024


def test_quote_bounds_and_escapes_caller_values():
    assert quote("abc") == "'abc'"
    long = quote("x" * 1000)
    assert len(long) <= 66 and long.endswith("…'")
    assert quote("a\x00b\nc\u202e") == "'a\\x00b\\nc\\u202e'"
