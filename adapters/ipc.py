"""Arrow IPC messages for streaming tables over gRPC: a schema message, then batches of a few MiB each."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterator
from typing import Any, cast

import grpc
import pyarrow as pa
from google.protobuf.message import Message
from grpc import aio

from exchange.errors import DataLoss

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
"""Target size of one batch message: big enough to be efficient, small enough not to stall the loop."""


MESSAGE_OVERHEAD_BYTES = 64 * 1024
"""What a batch message may carry beyond its max_bytes of data: the IPC metadata and the buffers' padding."""


def schema_message(schema: pa.Schema) -> bytes:
    """The encapsulated IPC schema message."""
    return schema.serialize().to_pybytes()


def batch_messages(batch: pa.RecordBatch, max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[tuple[int, pa.Buffer]]:
    """(rows, encapsulated IPC message) pieces of batch, each about max_bytes of data.

    The messages are Arrow buffers, not bytes: `batch_response` copies each once, into the response.

    With its metadata a piece is at most max_bytes + MESSAGE_OVERHEAD_BYTES (one row may be larger),
    so a relay with the same limit passes the pieces on as they are.
    """
    if batch.num_rows == 0:
        return
    size = batch.get_total_buffer_size()
    rows = batch.num_rows if size <= max_bytes else max(1, batch.num_rows * max_bytes // size)
    for offset in range(0, batch.num_rows, rows):
        yield from _fitting(batch.slice(offset, rows), max_bytes + MESSAGE_OVERHEAD_BYTES)


def _fitting(piece: pa.RecordBatch, limit: int) -> Iterator[tuple[int, pa.Buffer]]:
    """piece as one message, or halved until each half fits (rows of uneven width can overshoot the estimate)."""
    message = piece.serialize()
    if message.size <= limit or piece.num_rows == 1:
        yield piece.num_rows, message
        return
    half = piece.num_rows // 2
    yield from _fitting(piece.slice(0, half), limit)
    yield from _fitting(piece.slice(half), limit)


def read_schema(message: bytes, what: str) -> pa.Schema:
    """The schema from a schema message; DataLoss naming what sent it if it does not decode."""
    try:
        return pa.ipc.read_schema(pa.py_buffer(message))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataLoss(
            f"{what} sent an Arrow schema message that does not decode: {exc}", reason="ARROW_INVALID"
        ) from exc


def read_batch(message: bytes | memoryview, schema: pa.Schema, what: str) -> pa.RecordBatch:
    """One record batch from its message; DataLoss naming what sent it if it does not decode."""
    try:
        batch = pa.ipc.read_record_batch(pa.py_buffer(message), schema)
        batch.validate()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataLoss(f"{what} sent an Arrow batch that does not decode: {exc}", reason="ARROW_INVALID") from exc
    return batch


# Scan responses on the wire. ProviderServiceScanResponse (adapter -> hub) and ScanResponse (hub -> client)
# number arrow_batch = 2 and rows = 3 alike, so a batch response of one is, byte for byte, one of the other.
_ARROW_BATCH_TAG = (2 << 3) | 2  # field 2, length-delimited
_ROWS_TAG = (3 << 3) | 0  # field 3, varint
_CHAIN_TAG = (5 << 3) | 2  # field 5, length-delimited: the batch's digest chain link (adapters.bulk)
_MANIFEST_TAG = (6 << 3) | 2  # field 6, length-delimited: the closing manifest, in the last response only
_MAX_VARINT_BYTES = 10


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    """(value, next position) of the varint at pos; ValueError if it is truncated or too long."""
    value = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise ValueError("a varint runs past the end of the message")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value, pos + i + 1
    raise ValueError(f"a varint is longer than {_MAX_VARINT_BYTES} bytes")


def batch_response(rows: int, message: bytes | memoryview | pa.Buffer, chain: bytes = b"") -> bytes:
    """The wire encoding of a scan response holding one batch message (arrow_batch), its row count (rows)
    and, in a signed stream, its chain link (chain), in field order as protobuf writes them."""
    parts = [bytes([_ARROW_BATCH_TAG]), _varint(len(message)), message, bytes([_ROWS_TAG]), _varint(rows)]
    if chain:
        parts += [bytes([_CHAIN_TAG]), _varint(len(chain)), chain]
    return b"".join(parts)


def is_manifest_response(response: bytes) -> bool:
    """True for an encoded scan response that starts with a manifest (the last response of a signed stream)."""
    return response[:1] == bytes([_MANIFEST_TAG])


def split_batch_response(response: bytes, what: str) -> tuple[int, memoryview]:
    """(rows, batch message) of an encoded scan response, the batch a view into response (not a copy)."""
    rows, batch, _ = split_chained_response(response, what)
    return rows, batch


def split_chained_response(response: bytes, what: str) -> tuple[int, memoryview, memoryview]:
    """(rows, batch message, chain link) of an encoded scan response, each a view into response (not a copy).

    Only arrow_batch, rows and chain may be present, each at most once, as a protobuf parser would read them;
    anything else (another field, a wrong wire type, a truncated field) is DataLoss naming what sent it.
    An absent field reads as its default (0 rows, an empty batch, no link), as it would in a parsed message.
    """
    data = memoryview(response)
    rows: int | None = None
    batch: memoryview | None = None
    chain: memoryview | None = None
    pos = 0
    try:
        while pos < len(data):
            tag, pos = _read_varint(data, pos)
            if tag == _ARROW_BATCH_TAG and batch is None:
                size, pos = _read_varint(data, pos)
                if pos + size > len(data):
                    raise ValueError(f"arrow_batch claims {size} bytes, {len(data) - pos} remain")
                batch, pos = data[pos : pos + size], pos + size
            elif tag == _ROWS_TAG and rows is None:
                rows, pos = _read_varint(data, pos)
            elif tag == _CHAIN_TAG and chain is None:
                size, pos = _read_varint(data, pos)
                if pos + size > len(data):
                    raise ValueError(f"chain claims {size} bytes, {len(data) - pos} remain")
                chain, pos = data[pos : pos + size], pos + size
            else:
                raise ValueError(f"field {tag >> 3} (wire type {tag & 7}) is not expected in a batch response")
    except ValueError as exc:
        raise DataLoss(
            f"{what} sent a scan response that is not a batch message: {exc}", reason="SCAN_MESSAGE_INVALID"
        ) from exc
    empty = data[0:0]
    return rows or 0, batch if batch is not None else empty, chain if chain is not None else empty


def serialize_unless_encoded(response: Message | bytes) -> bytes:
    """The bytes to send for a response: a protobuf message serialised, one already encoded as it is."""
    return response if isinstance(response, bytes) else response.SerializeToString()


def add_servicer_passing_bytes(
    add_to_server: Callable[[Any, aio.Server], None], servicer: object, server: aio.Server, method: str
) -> None:
    """Register servicer as the generated add_*_to_server does, but let method yield encoded responses too.

    A relayed batch response then leaves as the bytes it arrived as; every other method, the request
    side and what interceptors, reflection and health see are the generated handlers unchanged.
    """
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    services: list[str] = []

    class Collect:
        """Stands in for the server to receive the generated handlers."""

        def add_generic_rpc_handlers(self, _: object) -> None:
            pass

        def add_registered_method_handlers(self, service: str, found: dict[str, grpc.RpcMethodHandler]) -> None:
            services.append(service)
            handlers.update(found)

    add_to_server(servicer, cast(aio.Server, Collect()))
    [service] = services
    stream = handlers[method]
    if stream.unary_stream is None:
        raise ValueError(f"{service}.{method} is not a server-streaming method")
    handlers[method] = grpc.unary_stream_rpc_method_handler(
        stream.unary_stream,
        request_deserializer=stream.request_deserializer,
        response_serializer=serialize_unless_encoded,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    server.add_registered_method_handlers(service, handlers)


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_KEEP_FREED_BYTES = 128 * 1024 * 1024
_MMAP_ABOVE_BYTES = 32 * 1024 * 1024
# Each malloc arena keeps up to _KEEP_FREED_BYTES: over TLS, gRPC's own threads decrypt and encrypt the
# 2 MiB messages, each in an arena of its own, so without a cap a relay's kept memory multiplies.
_ARENAS = 2


def keep_freed_memory_for_reuse() -> bool:
    """Have glibc's malloc reuse freed multi-MiB buffers instead of returning each to the kernel at once.

    By default malloc adapts its thresholds to the sizes it sees, and a stream of 2 MiB messages keeps
    tripping them: freed buffers go back to the kernel and the next ones fault fresh, zeroed pages in,
    which cost a scan's processes a quarter to a half of their CPU. Fixed thresholds (memory is mapped
    separately only above 32 MiB; the heap gives back only what exceeds 128 MiB free) keep the pages.
    At most two arenas: the kept memory is per arena, and TLS puts the large buffers on gRPC's threads.
    Memory stays bounded by the most a process holds at once. False where the C library is not glibc.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return (
        bool(mallopt(_M_ARENA_MAX, _ARENAS))
        and bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_ABOVE_BYTES))
        and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED_BYTES))
    )
