"""The hub passes an adapter's batch responses on as they arrived, and only after checking each one.

The adapter here is a gRPC server of ours on loopback that writes ProviderService.Scan responses byte for
byte, so it can send what a broken or hostile adapter would: a batch that does not decode, a row count
that lies, a field that has no business in a batch response, a batch too large to pass on whole, and a
signed stream cut short, reordered, duplicated or altered, or closed by a forged manifest.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc import aio

from adapters.bulk import DigestChain, ScanBinding, manifest_json
from adapters.ipc import (
    add_servicer_passing_bytes,
    batch_messages,
    batch_response,
    read_batch,
    schema_message,
    split_chained_response,
)
from adapters.server import server_credentials
from adapters.signing import DocumentSigner, canonical_json
from exchange.auth.keys import generate_ed25519, key_id
from exchange.demo.data import synthetic_register, write_synthetic_register
from exchange.errors import DataLoss
from exchange.testing import HubFixture, adapter_link
from exchange.v1 import exchange_pb2, provider_pb2, provider_pb2_grpc

from .hubsetup import example_dataset
from .test_scan import ITEM_FIELDS, ScanWorld, finish_world, scan, scan_request, start_world

Tamper = Callable[[int, bytes], bytes]
Reorder = Callable[[list[bytes]], list[bytes]]
Close = Callable[[ScanBinding, DigestChain, DocumentSigner], bytes | None]


def honest_manifest(binding: ScanBinding, chain: DigestChain, signer: DocumentSigner) -> bytes | None:
    manifest = manifest_json(binding, chain, kid=signer.kid, closed_at_us=1_790_000_000_000_000)
    return provider_pb2.ProviderServiceScanResponse(
        manifest_json=manifest, manifest_signature=signer.sign_scan_manifest(manifest)
    ).SerializeToString()


@dataclass
class RawAdapter:
    """ProviderService.Scan written by hand: the register's rows, chained and closed by a signed manifest as
    the SDK's adapter does; each batch response passed through tamper (its honest link added after), the
    list of them through reorder, and the manifest made by close."""

    table: pa.Table
    key: Ed25519PrivateKey
    tamper: Tamper = field(default=batch_response)
    reorder: Reorder = field(default=lambda responses: responses)
    close: Close = field(default=honest_manifest)
    max_bytes: int = 2 * 1024 * 1024
    first: bytes | None = None  # instead of the schema response
    requests: list[provider_pb2.ProviderServiceScanRequest] = field(default_factory=list)

    async def scan(self, request: provider_pb2.ProviderServiceScanRequest, _: object) -> AsyncIterator[bytes]:
        self.requests.append(request)
        table = self.table.select(list(request.columns))
        signer = DocumentSigner("SAMR", key_id(self.key.public_key()), self.key)
        binding = ScanBinding.of(
            issuer="SAMR",
            dataset=request.dataset,
            version=example_dataset(request.dataset).version,
            schema=table.schema,
            filter=request.filter,
            request_id=request.request_id,
            nonce=request.nonce,
        )
        chain = DigestChain(binding.chain_start(), "test adapter")
        schema_response = provider_pb2.ProviderServiceScanResponse(arrow_schema=schema_message(table.schema))
        yield self.first if self.first is not None else schema_response.SerializeToString()
        responses = []
        for batch in table.to_batches(max_chunksize=request.batch_rows or None):
            for rows, message in batch_messages(batch, self.max_bytes):
                link = chain.extend(message, rows)
                responses.append(self.tamper(rows, message.to_pybytes()) + chain_field(link))
        for response in self.reorder(responses):
            yield response
        closing = self.close(binding, chain, signer)
        if closing is not None:
            yield closing


def chain_field(link: bytes) -> bytes:
    """Field 5 (chain) as protobuf writes it, after arrow_batch and rows."""
    return provider_pb2.ProviderServiceScanResponse(chain=link).SerializeToString()


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
    key = generate_ed25519()
    adapter = RawAdapter(register(5000), key)
    server, port = await serve(adapter, hub)
    try:
        yield await finish_world(hub, f"127.0.0.1:{port}", key), adapter
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
        async for response in world.client.stream(world.client._stubs.exchange.Scan, scan_request(world), timeout=30):
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


async def test_the_hub_asks_for_batches_it_passes_whole_and_refuses_a_larger_one_rather_than_recut_the_chain(
    raw_world: tuple[ScanWorld, RawAdapter],
) -> None:
    world, adapter = raw_world
    adapter.table = register(60_000)
    adapter.max_bytes = 3 * 1024 * 1024  # above the hub's 2 MiB (and overhead), within what it may receive (4 MiB)
    received: list[exchange_pb2.ScanResponse] = []
    with pytest.raises(DataLoss) as refused:
        async for response in world.client.stream(world.client._stubs.exchange.Scan, scan_request(world), timeout=30):
            received.append(response)
    assert adapter.requests[0].max_message_bytes == 2 * 1024 * 1024
    assert refused.value.grpc_code == grpc.StatusCode.DATA_LOSS
    assert refused.value.reason == "SCAN_MESSAGE_TOO_LARGE"
    assert "passes a signed batch on whole" in refused.value.message
    assert len(received) == 1 and not received[0].arrow_batch
    entries = [e for e in await world.hub.log_entries() if e.action == "exchange.scan"]
    assert [(e.decision, e.reason, e.outcome) for e in entries[1:]] == [
        ("allow", "SCAN_MESSAGE_TOO_LARGE", "DATA_LOSS")
    ]


async def test_an_honest_adapters_responses_arrive_at_the_client_byte_for_byte(
    raw_world: tuple[ScanWorld, RawAdapter],
) -> None:
    world, adapter = raw_world
    sent: list[bytes] = []

    def record(responses: list[bytes]) -> list[bytes]:
        sent.extend(responses)
        return responses

    adapter.reorder = record
    # The same method, asked for each response's bytes as they came.
    raw: aio.UnaryStreamMultiCallable[exchange_pb2.ScanRequest, bytes] = world.client.channel.unary_stream(
        "/exchange.v1.ExchangeService/Scan", request_serializer=exchange_pb2.ScanRequest.SerializeToString
    )
    received = [r async for r in raw(scan_request(world, batch_rows=700), metadata=world.client.metadata())]
    assert received[1:-1] == sent and len(sent) > 1 and all(split_chained_response(r, "hub")[2] for r in sent)
    assert exchange_pb2.ScanResponse.FromString(received[0]).HasField("receipt")
    assert exchange_pb2.ScanResponse.FromString(received[-1]).manifest_signature


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

    async def Describe(self, request: provider_pb2.DescribeRequest, context: object) -> provider_pb2.DescribeResponse:
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


def swapped(responses: list[bytes]) -> list[bytes]:
    return [responses[1], responses[0], *responses[2:]]


def duplicated(responses: list[bytes]) -> list[bytes]:
    return [responses[0], responses[1], responses[1], *responses[2:]]


def dropped(responses: list[bytes]) -> list[bytes]:
    return [responses[0], *responses[2:]]


def altered(responses: list[bytes]) -> list[bytes]:
    """Batch 2 with one value changed, still a valid Arrow batch, sent with its honest link."""
    rows, message, link = split_chained_response(responses[1], "test")
    batch = read_batch(message, register(1).select(ITEM_FIELDS).schema, "test")
    names = batch.column("name").to_pylist()
    changed = batch.set_column(1, "name", pa.array(["改过的名称", *names[1:]], pa.string()))
    return [responses[0], batch_response(rows, changed.serialize(), bytes(link)), *responses[2:]]


def cut_short(responses: list[bytes]) -> list[bytes]:
    return responses[:2]


def no_manifest(binding: ScanBinding, chain: DigestChain, signer: DocumentSigner) -> bytes | None:
    return None


def forged_manifest(binding: ScanBinding, chain: DigestChain, signer: DocumentSigner) -> bytes | None:
    """The right kid, another key's signature."""
    other = generate_ed25519()
    return honest_manifest(binding, chain, DocumentSigner("SAMR", signer.kid, other))


def rows_raised_after_signing(binding: ScanBinding, chain: DigestChain, signer: DocumentSigner) -> bytes | None:
    honest = provider_pb2.ProviderServiceScanResponse.FromString(honest_manifest(binding, chain, signer) or b"")
    manifest = json.loads(honest.manifest_json)
    manifest["rows"] += 1
    honest.manifest_json = canonical_json(manifest)
    return honest.SerializeToString()


def manifest_of_an_earlier_scan(binding: ScanBinding, chain: DigestChain, signer: DocumentSigner) -> bytes | None:
    """Signed by the issuer, for every batch it sent, but bound to another request's nonce (a replay)."""
    replayed = ScanBinding(**{**binding.__dict__, "nonce": "AAAAAAAAAAAAAAAAAAAAAA"})
    return honest_manifest(replayed, chain, signer)


def last_batch_dropped(responses: list[bytes]) -> list[bytes]:
    return responses[:-1]


HONEST: Reorder = list


@pytest.mark.parametrize(
    ("reorder", "close", "reason", "batches_passed"),
    [
        (swapped, honest_manifest, "SCAN_CHAIN_BROKEN", 0),
        (duplicated, honest_manifest, "SCAN_CHAIN_BROKEN", 2),
        (dropped, honest_manifest, "SCAN_CHAIN_BROKEN", 1),
        (altered, honest_manifest, "SCAN_CHAIN_BROKEN", 1),
        (cut_short, no_manifest, "SCAN_MANIFEST_MISSING", 2),
        (HONEST, no_manifest, "SCAN_MANIFEST_MISSING", 8),
        (last_batch_dropped, honest_manifest, "SCAN_MANIFEST_INVALID", 7),
        (HONEST, forged_manifest, "SCAN_MANIFEST_INVALID", 8),
        (HONEST, rows_raised_after_signing, "SCAN_MANIFEST_INVALID", 8),
        (HONEST, manifest_of_an_earlier_scan, "SCAN_MANIFEST_INVALID", 8),
    ],
)
async def test_a_signed_stream_cut_short_reordered_duplicated_altered_or_forged_is_data_loss_and_logged(
    raw_world: tuple[ScanWorld, RawAdapter], reorder: Reorder, close: Close, reason: str, batches_passed: int
) -> None:
    world, adapter = raw_world
    adapter.reorder, adapter.close = reorder, close
    received: list[exchange_pb2.ScanResponse] = []
    with pytest.raises(DataLoss) as refused:
        async for response in world.client.stream(
            world.client._stubs.exchange.Scan, scan_request(world, batch_rows=625), timeout=30
        ):
            received.append(response)
    assert refused.value.grpc_code == grpc.StatusCode.DATA_LOSS
    assert refused.value.reason == reason and "the adapter of SAMR" in refused.value.message
    # Batches before the break went on (each followed from the one before); none after it, and no manifest.
    assert [bool(r.arrow_batch) for r in received] == [False] + [True] * batches_passed
    assert not any(r.manifest_json for r in received)
    entries = [e for e in await world.hub.log_entries() if e.action == "exchange.scan"]
    assert [(e.decision, e.reason, e.outcome) for e in entries[1:]] == [("allow", reason, "DATA_LOSS")]
    assert (entries[1].dataset, entries[1].subject_id, entries[1].case_id) == (
        "enterprise_register",
        entries[0].subject_id,
        world.case_id,
    )
    assert f"the scan broke after {625 * batches_passed} rows" in entries[1].message
