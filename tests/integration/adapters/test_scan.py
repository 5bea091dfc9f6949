"""Bulk scans through the hub: authorised like a fetch, logged before the first row, streamed in bounded memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.ipc import read_batch, read_schema
from adapters.sdk import SourceAdapter
from adapters.server import RunningAdapter, start_provider
from adapters.signing import DocumentSigner
from adapters.sources.files import FileSource
from catalog.model import Dataset
from catalog.specs import parse_service_item
from exchange.auth.keys import generate_ed25519, key_id
from exchange.client import HubClient
from exchange.demo.data import synthetic_register, write_synthetic_register
from exchange.errors import DataLoss, ExchangeError, FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable
from exchange.testing import HubFixture, system_caller
from exchange.v1 import common_pb2, exchange_pb2

from .hubsetup import CONSUMER, example_dataset, grant, open_case, spawn_adapter, spec_path

ITEM_FIELDS = ["unified_social_credit_code", "name", "region_code", "registered_capital", "established_on", "status"]
STATISTICS_ITEM = {
    "code": "market_statistics",
    "name": "Market entity statistics report",
    "lead_department": CONSUMER,
    "time_limit_days": 20,
    "required_materials": [
        {"dataset": "enterprise_register", "fields": ITEM_FIELDS},
        {"dataset": "business_licence", "fields": ["unified_social_credit_code"]},
    ],
}


@dataclass
class ScanWorld:
    hub: HubFixture
    adapter: RunningAdapter | None
    client: HubClient
    case_id: str


async def start_world(hub: HubFixture, tmp_path: Path, rows: int) -> ScanWorld:
    """SAMR serving a Parquet enterprise register from an in-process adapter; SVC granted and on a case."""
    path = tmp_path / "register.parquet"
    write_synthetic_register(path, rows)
    ds = example_dataset("enterprise_register")
    key = generate_ed25519()
    source = FileSource(path, "unified_social_credit_code", {}, ds.schema.arrow_schema())
    adapter = await start_provider(
        SourceAdapter("SAMR", {ds.code: (ds, source, "files")}),
        DocumentSigner("SAMR", key_id(key.public_key()), key),
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("SAMR"),
    )
    return await finish_world(hub, f"127.0.0.1:{adapter.port}", key, adapter)


async def finish_world(
    hub: HubFixture, endpoint: str, key: Ed25519PrivateKey, adapter: RunningAdapter | None = None
) -> ScanWorld:
    """Register SAMR at endpoint, the catalog, the statistics item, a grant and an open case."""
    await hub.add_department("SAMR", adapter_endpoint=endpoint, signing_public_key=key.public_key())
    await hub.add_department(CONSUMER)
    await hub.register_example_dataset("enterprise_register")
    await hub.register_example_dataset("business_licence")
    await hub.running.registry.register_service_item(parse_service_item(STATISTICS_ITEM), system_caller())
    await grant(hub, "enterprise_register", ("*",))
    case_id = await open_case(hub, "market_statistics", CONSUMER, "91110105MA00000000")
    return ScanWorld(hub, adapter, hub.client(CONSUMER), case_id)


@pytest.fixture
async def world(hub: HubFixture, tmp_path: Path) -> AsyncIterator[ScanWorld]:
    w = await start_world(hub, tmp_path, 5000)
    try:
        yield w
    finally:
        assert w.adapter is not None
        await w.adapter.stop(grace=0)


def scan_request(w: ScanWorld, **kwargs: object) -> exchange_pb2.ScanRequest:
    return exchange_pb2.ScanRequest(
        dataset=str(kwargs.pop("dataset", "enterprise_register")),
        purpose=common_pb2.Purpose(case_id=w.case_id),
        **kwargs,  # type: ignore[arg-type]
    )


async def scan(w: ScanWorld, request: exchange_pb2.ScanRequest) -> tuple[exchange_pb2.ScanResponse, pa.Table]:
    """The first response (schema and receipt) and the rows as one table."""
    first: exchange_pb2.ScanResponse | None = None
    batches = []
    async for response in w.client.stream(w.client._stubs.exchange.Scan, request, timeout=60):
        if first is None:
            first = response
            schema = read_schema(response.arrow_schema, "hub")
            continue
        if response.manifest_json:
            continue  # the issuer's closing manifest, last (test_scan_signed_bulk.py checks it)
        batches.append(read_batch(response.arrow_batch, schema, "hub"))
        assert response.rows == batches[-1].num_rows
    assert first is not None
    return first, pa.Table.from_batches(batches, schema=schema)


async def test_scan_returns_only_granted_needed_columns_with_the_filter_applied_and_logs_first(
    any_backend_hub: HubFixture, tmp_path: Path
) -> None:
    world = await start_world(any_backend_hub, tmp_path, 5000)
    try:
        first, table = await scan(world, scan_request(world, filter="status = '01' and region_code = '110108'"))
    finally:
        assert world.adapter is not None
        await world.adapter.stop(grace=0)

    assert table.column_names == ITEM_FIELDS  # employees, updated_at: granted by '*' but not needed by the item
    assert table.num_rows == len([i for i in range(5000) if i % 4 == 0 and i % 16 != 0])
    assert set(table.column("status").to_pylist()) == {"01"}
    entries = await world.hub.log_entries()
    entry = next(e for e in entries if e.action == "exchange.scan")
    assert entry.index == first.receipt.log_index and entry.decision == "allow"
    assert list(entry.fields) == ITEM_FIELDS and entry.details["filter"].startswith("status = '01'")


async def test_scan_asks_the_adapter_for_chosen_columns_in_small_batches(world: ScanWorld) -> None:
    _, table = await scan(world, scan_request(world, columns=["name", "status"], batch_rows=700))
    assert table.column_names == ["name", "status"] and table.num_rows == 5000
    assert max(len(b) for b in table.to_batches()) <= 700


@pytest.mark.parametrize(
    ("kwargs", "error", "reason"),
    [
        ({"columns": ["employees"]}, PermissionDenied, "FIELD_NOT_GRANTED"),
        ({"filter": "employees > 100"}, PermissionDenied, "FILTER_FIELD_NOT_GRANTED"),
        ({"filter": "status = '01' or 1=1"}, InvalidArgument, "ROW_FILTER_INVALID"),
        ({"filter": "status = 1"}, InvalidArgument, "ROW_FILTER_INVALID"),
        ({"dataset": "business_licence"}, FailedPrecondition, "DATASET_NOT_TABLE"),
        ({"batch_rows": -5}, InvalidArgument, "INVALID_REQUEST"),
    ],
)
async def test_refused_scans_send_no_row_and_are_logged_as_refused(
    world: ScanWorld, kwargs: dict[str, object], error: type[ExchangeError], reason: str
) -> None:
    with pytest.raises(error) as refused:
        await scan(world, scan_request(world, **kwargs))
    assert refused.value.reason == reason
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.reason) == ("exchange.scan", reason)
    assert entry.decision == "deny"


async def test_scan_without_an_open_case_is_refused(world: ScanWorld) -> None:
    request = exchange_pb2.ScanRequest(dataset="enterprise_register")
    with pytest.raises(PermissionDenied) as refused:
        await scan(world, request)
    assert refused.value.reason == "PURPOSE_REQUIRED"


# Long names make the million rows a few hundred MiB, so holding the table would show plainly in the hub's memory.
NAME_CHARS = 200


async def test_a_million_rows_stream_through_the_hub_in_bounded_memory(hub: HubFixture, tmp_path: Path) -> None:
    rows = int(os.environ.get("SCAN_ROWS", "1000000"))
    path = tmp_path / "register.parquet"
    # Written by another process, so the test process's memory holds none of it before the scan.
    write = "from exchange.demo.data import write_synthetic_register as w; "
    write += f"w({str(path)!r}, {rows}, name_chars={NAME_CHARS})"
    writer = await asyncio.create_subprocess_exec(sys.executable, "-c", write)
    assert await writer.wait() == 0
    source = {"type": "files", "path": str(path), "key_column": "unified_social_credit_code"}
    key = generate_ed25519()
    adapter = await spawn_adapter(
        tmp_path,
        "SAMR",
        [
            {
                "dataset": "enterprise_register",
                "version": "1.0",
                "spec": spec_path("enterprise_register"),
                "source": source,
            }
        ],
        key,
        tls=hub.adapter_tls_section("SAMR"),
    )
    w = await finish_world(hub, adapter.endpoint, key)
    # Warm up (thread pools, allocator arenas, flow-control windows), abandoning the stream after a few batches.
    responses = w.client.stream(w.client._stubs.exchange.Scan, scan_request(w, batch_rows=65536), timeout=120)
    batches = 0
    async for response in responses:
        batches += 1 if response.rows else 0
        if batches == 4:
            break
    await responses.aclose()  # type: ignore[attr-defined]
    hub_process, adapter_process = psutil.Process(), psutil.Process(adapter.process.pid)
    baseline = {p.pid: p.memory_info().rss for p in (hub_process, adapter_process)}
    peak = dict(baseline)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            for p in (hub_process, adapter_process):
                peak[p.pid] = max(peak[p.pid], p.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    received = 0
    schema = None
    manifest: dict[str, object] = {}
    started = time.perf_counter()
    try:
        async for response in w.client.stream(
            w.client._stubs.exchange.Scan, scan_request(w, batch_rows=65536), timeout=120
        ):
            if schema is None:
                schema = read_schema(response.arrow_schema, "hub")
                continue
            if response.manifest_json:
                manifest = json.loads(response.manifest_json)  # last: the issuer vouches for every row
                continue
            received += read_batch(response.arrow_batch, schema, "hub").num_rows
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        assert await adapter.stop() == 0
    assert received == rows == manifest["rows"]
    table_bytes = synthetic_register(1000, name_chars=NAME_CHARS).select(ITEM_FIELDS).nbytes * rows // 1000
    hub_growth = peak[hub_process.pid] - baseline[hub_process.pid]
    print(
        f"\n{rows:,}-row scan: {table_bytes / 2**20:.0f} MiB of Arrow data; hub+client RSS growth "
        f"{hub_growth / 2**20:.1f} MiB (peak {peak[hub_process.pid] / 2**20:.0f} MiB), "
        f"adapter process peak {peak[adapter_process.pid] / 2**20:.0f} MiB "
        f"(growth {(peak[adapter_process.pid] - baseline[adapter_process.pid]) / 2**20:.1f} MiB); "
        f"{elapsed:.1f} s, {table_bytes / 2**20 / elapsed:.0f} MiB/s (information only)"
    )
    # The table never sits whole in the hub: its memory grows by a fraction of the table's size (by about the
    # same amount for a table three times as large: SCAN_ROWS=3000000).
    assert hub_growth < table_bytes / 2


class Misbehaving(SourceAdapter):
    """A Parquet-backed adapter that breaks mid-stream, or streams a schema other than the catalog's."""

    def __init__(self, ds: Dataset, source: FileSource, mode: str) -> None:
        super().__init__("SAMR", {ds.code: (ds, source, "files")})
        self.mode = mode

    def checked_scan(
        self, dataset: str, columns: Sequence[str], filter_text: str, batch_rows: int
    ) -> tuple[pa.Schema, AsyncGenerator[pa.RecordBatch, None]]:
        schema, batches = super().checked_scan(dataset, columns, filter_text, batch_rows)
        if self.mode == "schema":
            # Claims the name column is a number: the hub must not pass such rows on.
            schema = schema.set(schema.get_field_index("name"), pa.field("name", pa.int64()))
        return schema, self._breaking(batches)

    async def _breaking(self, batches: AsyncGenerator[pa.RecordBatch, None]) -> AsyncGenerator[pa.RecordBatch, None]:
        sent = 0
        async with contextlib.aclosing(batches):
            async for batch in batches:
                if self.mode == "break" and sent == 2:
                    raise Unavailable("the export disappeared", reason="UPSTREAM_UNAVAILABLE")
                sent += 1
                yield batch


@pytest.mark.parametrize("mode", ["break", "schema"])
async def test_an_adapter_that_breaks_or_changes_the_schema_is_reported_and_logged(
    hub: HubFixture, tmp_path: Path, mode: str
) -> None:
    path = tmp_path / "register.parquet"
    write_synthetic_register(path, 5000)
    ds = example_dataset("enterprise_register")
    key = generate_ed25519()
    source = FileSource(path, "unified_social_credit_code", {}, ds.schema.arrow_schema())
    adapter = await start_provider(
        Misbehaving(ds, source, mode),
        DocumentSigner("SAMR", key_id(key.public_key()), key),
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("SAMR"),
    )
    w = await finish_world(hub, f"127.0.0.1:{adapter.port}", key, adapter)
    received = []
    try:
        with pytest.raises((Unavailable, DataLoss)) as err:
            async for response in w.client.stream(
                w.client._stubs.exchange.Scan, scan_request(w, batch_rows=1000), timeout=30
            ):
                received.append(response)
    finally:
        await adapter.stop(grace=0)
    entries = [e for e in await hub.log_entries() if e.action == "exchange.scan"]
    if mode == "break":
        # The rows sent before the break were logged first; the break has its own entry.
        assert len(received) == 3 and received[0].receipt.log_index == entries[0].index
        assert entries[1].reason == "ADAPTER_UPSTREAM_UNAVAILABLE" and "after 2000 rows" in entries[1].message
    else:
        assert err.value.reason == "SCAN_SCHEMA_MISMATCH" and not received
        assert len(entries) == 1 and entries[0].reason == "SCAN_SCHEMA_MISMATCH"


async def test_the_python_client_streams_a_scan_as_record_batches(world: ScanWorld) -> None:
    _, expected = await scan(world, scan_request(world, filter="status = '01'"))
    table = await world.client.scan_table("enterprise_register", case_id=world.case_id, row_filter="status = '01'")
    assert table.num_rows == expected.num_rows > 0
    assert table.column_names == expected.column_names
    assert world.client.last_scan_receipt is not None
