"""The hub passes an adapter's batch responses on as they arrived, and only after checking each one.

The adapter here is a gRPC server of ours on loopback that writes ProviderService.Scan responses byte for
byte, so it can send what a broken or hostile adapter would: a batch that does not decode, a row count
that lies, a field that has no business in a batch response, a batch too large to pass on whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from grpc import aio

from adapters.ipc import (
    MESSAGE_OVERHEAD_BYTES,
    add_servicer_passing_bytes,
    batch_messages,
    batch_response,
    read_batch,
    read_schema,
    schema_message,
)
from adapters.server import server_credentials
from catalog.errors import DataLoss
from exchange.auth.keys import generate_ed25519
from exchange.demo.data import synthetic_register, write_synthetic_register
from exchange.testing import HubFixture, adapter_link
from exchange.v1 import exchange_pb2, provider_pb2, provider_pb2_grpc

from .hubsetup import example_dataset
from .test_scan import ITEM_FIELDS, ScanWorld, finish_world, scan, scan_request, start_world

Tamper = Callable[[int, bytes], bytes]


@dataclass
class RawAdapter:
    """ProviderService.Scan written by hand: the register's rows, each batch response passed through tamper."""

    table: pa.Table
    tamper: Tamper = field(default=batch_response)
    max_bytes: int = 2 * 1024 * 1024
    first: bytes | None = None  # instead of the schema response

    async def scan(self, request: provider_pb2.ProviderServiceScanRequest, _: object) -> AsyncIterator[bytes]:
        table = self.table.select(list(request.columns))
        schema_response = provider_pb2.ProviderServiceScanResponse(arrow_schema=schema_message(table.schema))
        yield self.first if self.first is not None else schema_response.SerializeToString()
        for batch in table.to_batches(max_chunksize=request.batch_rows or None):
            for rows, message in batch_messages(batch, self.max_bytes):
                yield self.tamper(rows, message.to_pybytes())


async def serve(adapter: RawAdapter, hub: HubFixture) -> tuple[aio.Server, int]:
    server = aio.server(options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
    handler: grpc.RpcMethodHandler = grpc.unary_stream_rpc_method_handler(
        adapter.scan, request_deserializer=provider_pb2.ProviderServiceScanRequest.FromString
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("exchange.v1.ProviderService", {"Scan": handler}),)
    )
    port = hub.add_adapter_port(server, "SAMR")
    await server.start()
    return server, port


def register(rows: int) -> pa.Table:
    """The synthetic register in exactly the catalog's types, as an honest adapter streams it."""
    return synthetic_register(rows).cast(example_dataset("enterprise_register").schema.arrow_schema())


@pytest.fixture
async def raw_world(hub: HubFixture) -> AsyncIterator[tuple[ScanWorld, RawAdapter]]:
    adapter = RawAdapter(register(5000))
    server, port = await serve(adapter, hub)
    try:
        yield await finish_world(hub, f"127.0.0.1:{port}", generate_ed25519()), adapter
    finally:
        await server.stop(grace=0)


def garbage(rows: int, message: bytes) -> bytes:
    return batch_response(rows, message[: len(message) // 2] + b"\xff" * (len(message) - len(message) // 2))


def extra_field(rows: int, message: bytes) -> bytes:
    return batch_response(rows, message) + b"\x48\x01"  # field 9, a varint: no field of a batch response


def schema_again(rows: int, message: bytes) -> bytes:
    response = provider_pb2.ProviderServiceScanResponse(arrow_schema=b"x", arrow_batch=message, rows=rows)
    return response.SerializeToString()


def rows_lie(rows: int, message: bytes) -> bytes:
    return batch_response(rows + 1, message)


def rows_missing(rows: int, message: bytes) -> bytes:
    return provider_pb2.ProviderServiceScanResponse(arrow_batch=message).SerializeToString()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (garbage, "ARROW_INVALID"),
        (extra_field, "SCAN_MESSAGE_INVALID"),
        (schema_again, "SCAN_MESSAGE_INVALID"),
        (rows_lie, "SCAN_ROWS_MISMATCH"),
        (rows_missing, "SCAN_ROWS_MISMATCH"),
    ],
)
async def test_a_batch_response_that_fails_a_check_is_data_loss_no_row_passes_and_the_break_is_logged(
    raw_world: tuple[ScanWorld, RawAdapter], tamper: Tamper, reason: str
) -> None:
    world, adapter = raw_world
    adapter.tamper = tamper
    received: list[exchange_pb2.ScanResponse] = []
    with pytest.raises(DataLoss) as refused:
        async for response in world.client.stream(world.client.exchange.Scan, scan_request(world), timeout=30):
            received.append(response)
    assert refused.value.reason == reason and "the adapter of SAMR" in refused.value.message
    # The schema and the receipt went first; not one row followed.
    assert len(received) == 1 and received[0].arrow_schema and not received[0].arrow_batch
    entries = [e for e in await world.hub.log_entries() if e.action == "exchange.scan"]
    assert [e.decision for e in entries] == ["allow", "allow"]
    assert entries[0].index == received[0].receipt.log_index
    assert entries[1].reason == reason and "the scan broke after 0 rows" in entries[1].message


async def test_a_first_response_that_does_not_parse_is_data_loss_before_any_row_and_logged(
    raw_world: tuple[ScanWorld, RawAdapter],
) -> None:
    world, adapter = raw_world
    adapter.first = b"\x0a\xff\xff\xff\x0f"  # arrow_schema claiming far more bytes than follow
    with pytest.raises(DataLoss) as refused:
        await scan(world, scan_request(world))
    assert refused.value.reason == "SCAN_MESSAGE_INVALID"
    [entry] = [e for e in await world.hub.log_entries() if e.action == "exchange.scan"]
    assert (entry.decision, entry.reason) == ("allow", "SCAN_MESSAGE_INVALID")


async def test_a_batch_larger_than_the_hub_passes_on_whole_is_cut_into_pieces_that_fit(
    raw_world: tuple[ScanWorld, RawAdapter],
) -> None:
    world, adapter = raw_world
    adapter.table = register(60_000)
    adapter.max_bytes = 3 * 1024 * 1024  # above the hub's 2 MiB (and overhead), within what it may receive (4 MiB)
    sent: list[int] = []

    def measure(rows: int, message: bytes) -> bytes:
        sent.append(len(message))
        return batch_response(rows, message)

    adapter.tamper = measure
    sizes: list[int] = []
    batches = []
    schema = None
    async for response in world.client.stream(world.client.exchange.Scan, scan_request(world), timeout=30):
        if schema is None:
            schema = read_schema(response.arrow_schema, "hub")
            continue
        sizes.append(response.ByteSize())
        batches.append(read_batch(response.arrow_batch, schema, "hub"))
        assert response.rows == batches[-1].num_rows
    assert max(sent) > 2 * 1024 * 1024 + MESSAGE_OVERHEAD_BYTES >= max(sizes) and len(sizes) > len(sent)
    assert pa.Table.from_batches(batches).equals(adapter.table.select(ITEM_FIELDS))


async def test_an_honest_adapters_responses_arrive_at_the_client_byte_for_byte(
    raw_world: tuple[ScanWorld, RawAdapter],
) -> None:
    world, adapter = raw_world
    sent: list[bytes] = []

    def record(rows: int, message: bytes) -> bytes:
        sent.append(batch_response(rows, message))
        return sent[-1]

    adapter.tamper = record
    # The same method, asked for each response's bytes as they came.
    raw: aio.UnaryStreamMultiCallable[exchange_pb2.ScanRequest, bytes] = world.client.channel.unary_stream(
        "/exchange.v1.ExchangeService/Scan", request_serializer=exchange_pb2.ScanRequest.SerializeToString
    )
    received = [r async for r in raw(scan_request(world, batch_rows=700), metadata=world.client.metadata())]
    assert received[1:] == sent and len(sent) > 1
    assert exchange_pb2.ScanResponse.FromString(received[0]).HasField("receipt")


async def test_a_scan_through_the_hub_gives_the_rows_of_the_file_exactly(hub: HubFixture, tmp_path: Path) -> None:
    world = await start_world(hub, tmp_path, 70_000)
    try:
        _, table = await scan(world, scan_request(world, batch_rows=30_000))
        batches = [b async for b in world.client.scan("enterprise_register", case_id=world.case_id)]
    finally:
        assert world.adapter is not None
        await world.adapter.stop(grace=0)
    path = tmp_path / "expected.parquet"
    write_synthetic_register(path, 70_000)
    expected = pq.read_table(path).cast(example_dataset("enterprise_register").schema.arrow_schema())
    expected = expected.select(ITEM_FIELDS)
    assert table.equals(expected)
    assert pa.Table.from_batches(batches).equals(expected)


class BytesProvider(provider_pb2_grpc.ProviderServiceServicer):
    """Scan yields a message and an already encoded response; Describe is an ordinary method."""

    async def Scan(  # type: ignore[override]
        self, request: provider_pb2.ProviderServiceScanRequest, context: object
    ) -> AsyncIterator[provider_pb2.ProviderServiceScanResponse | bytes]:
        yield provider_pb2.ProviderServiceScanResponse(arrow_schema=b"schema")
        yield batch_response(3, b"abc")

    async def Describe(
        self, request: provider_pb2.DescribeRequest, context: object
    ) -> provider_pb2.DescribeResponse:
        return provider_pb2.DescribeResponse(department="SAMR")


async def test_a_servicer_registered_passing_bytes_sends_encoded_responses_as_they_are(tmp_path: Path) -> None:
    link = adapter_link(tmp_path, "SAMR")
    server = aio.server()
    provider = BytesProvider()  # type: ignore[abstract]  # Lookup and Status are not needed
    add_servicer_passing_bytes(provider_pb2_grpc.add_ProviderServiceServicer_to_server, provider, server, "Scan")
    port = server.add_secure_port("127.0.0.1:0", server_credentials(link.adapter))
    await server.start()
    try:
        async with link.hub_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ProviderServiceStub(channel)
            responses = [r async for r in stub.Scan(provider_pb2.ProviderServiceScanRequest(dataset="x"))]
            described = await stub.Describe(provider_pb2.DescribeRequest())
    finally:
        await server.stop(grace=0)
    assert [(r.arrow_schema, r.arrow_batch, r.rows) for r in responses] == [(b"schema", b"", 0), (b"", b"abc", 3)]
    assert described.department == "SAMR"
    with pytest.raises(ValueError, match="Describe is not a server-streaming method"):
        add_servicer_passing_bytes(
            provider_pb2_grpc.add_ProviderServiceServicer_to_server, provider, aio.server(), "Describe"
        )
