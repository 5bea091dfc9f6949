"""Scan responses on the wire: the batch response a relay passes on, and the pieces a batch is cut into."""

from __future__ import annotations

import platform

import pyarrow as pa
import pytest

from adapters.ipc import (
    MESSAGE_OVERHEAD_BYTES,
    batch_messages,
    batch_response,
    keep_freed_memory_for_reuse,
    read_batch,
    schema_message,
    split_batch_response,
)
from exchange.errors import DataLoss
from exchange.v1 import common_pb2, exchange_pb2, provider_pb2


def sample(rows: int = 1000, width: int = 20) -> pa.RecordBatch:
    return pa.record_batch(
        {"id": pa.array(range(rows), pa.int64()), "name": pa.array([f"{i:0{width}d}" for i in range(rows)])}
    )


def test_a_batch_response_is_what_protobuf_writes_and_reads_as_either_scan_response() -> None:
    message = sample().serialize().to_pybytes()
    encoded = batch_response(1000, message)
    assert encoded == exchange_pb2.ScanResponse(arrow_batch=message, rows=1000).SerializeToString()
    adapter_side = provider_pb2.ProviderServiceScanResponse.FromString(encoded)
    client_side = exchange_pb2.ScanResponse.FromString(encoded)
    assert adapter_side.arrow_batch == client_side.arrow_batch == message
    assert adapter_side.rows == client_side.rows == 1000
    assert not client_side.arrow_schema and not client_side.HasField("receipt")


def test_splitting_a_batch_response_gives_its_rows_and_a_view_of_the_batch_without_a_copy() -> None:
    batch = sample()
    encoded = provider_pb2.ProviderServiceScanResponse(
        arrow_batch=batch.serialize().to_pybytes(), rows=batch.num_rows
    ).SerializeToString()
    rows, message = split_batch_response(encoded, "adapter")
    assert rows == 1000 and message.obj is encoded
    assert read_batch(message, batch.schema, "adapter").equals(batch)


def test_absent_fields_read_as_their_defaults() -> None:
    assert split_batch_response(b"", "adapter")[0] == 0 and not split_batch_response(b"", "adapter")[1]
    only_batch = provider_pb2.ProviderServiceScanResponse(arrow_batch=b"abc").SerializeToString()
    rows, message = split_batch_response(only_batch, "adapter")
    assert (rows, bytes(message)) == (0, b"abc")


GOOD = batch_response(3, b"abc")
WITH_RECEIPT = exchange_pb2.ScanResponse(arrow_batch=b"abc", rows=3, receipt=common_pb2.Receipt(log_index=7))


@pytest.mark.parametrize(
    ("encoded", "says"),
    [
        (
            provider_pb2.ProviderServiceScanResponse(arrow_schema=b"s", arrow_batch=b"abc", rows=3).SerializeToString(),
            "field 1",
        ),
        (WITH_RECEIPT.SerializeToString(), "field 4"),
        (GOOD + b"\x48\x01", "field 9"),  # an unknown varint field
        (GOOD + GOOD, "field 2"),  # arrow_batch twice: a parser would keep the second
        (b"\x1a\x01\x00" + GOOD, "field 3 (wire type 2)"),  # rows with the wrong wire type
        (GOOD[:-1], "runs past the end"),
        (b"\x12\x7f" + b"abc", "claims 127 bytes"),
        (b"\x18" + b"\xff" * 11, "longer than 10 bytes"),
    ],
)
def test_anything_but_a_batch_and_its_row_count_is_data_loss(encoded: bytes, says: str) -> None:
    with pytest.raises(DataLoss) as refused:
        split_batch_response(encoded, "the adapter of SAMR")
    assert refused.value.reason == "SCAN_MESSAGE_INVALID"
    assert "the adapter of SAMR" in refused.value.message and says in refused.value.message


def test_batch_pieces_hold_about_the_limit_of_data_and_fit_it_with_their_metadata() -> None:
    batch = sample(200_000, 40)
    limit = 256 * 1024
    pieces = list(batch_messages(batch, limit))
    assert len(pieces) > 10 and all(len(message) <= limit + MESSAGE_OVERHEAD_BYTES for _, message in pieces)
    assert sum(len(message) for _, message in pieces) / len(pieces) > limit * 0.9
    decoded = [read_batch(message, batch.schema, "adapter") for _, message in pieces]
    assert [rows for rows, _ in pieces] == [b.num_rows for b in decoded]
    assert pa.Table.from_batches(decoded).equals(pa.Table.from_batches([batch]))


def test_rows_much_wider_than_the_average_are_cut_again_until_they_fit() -> None:
    names = ["x" * (50_000 if 500 <= i < 600 else 10) for i in range(2000)]
    batch = pa.record_batch({"name": pa.array(names)})
    pieces = list(batch_messages(batch, 256 * 1024))
    assert all(len(message) <= 256 * 1024 + MESSAGE_OVERHEAD_BYTES for _, message in pieces)
    assert max(rows for rows, _ in pieces) > 2 * min(rows for rows, _ in pieces)  # the wide rows were cut finer
    decoded = [read_batch(message, batch.schema, "adapter") for _, message in pieces]
    assert pa.Table.from_batches(decoded).column("name").to_pylist() == names


def test_a_single_row_larger_than_the_limit_still_goes_as_one_message() -> None:
    batch = pa.record_batch({"name": pa.array(["y" * 100_000])})
    [(rows, message)] = list(batch_messages(batch, 64 * 1024))
    assert rows == 1 and read_batch(message, batch.schema, "adapter").equals(batch)


def test_the_schema_message_of_an_empty_batch_sends_no_batches() -> None:
    batch = sample(0)
    assert list(batch_messages(batch)) == [] and schema_message(batch.schema)


def test_malloc_is_told_to_keep_freed_buffers_on_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert keep_freed_memory_for_reuse()
