"""Arrow IPC messages for streaming tables over gRPC: a schema message, then batches of a few MiB each."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from catalog.errors import DataLoss

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
"""Target size of one batch message: big enough to be efficient, small enough not to stall the loop."""


def schema_message(schema: pa.Schema) -> bytes:
    """The encapsulated IPC schema message."""
    return schema.serialize().to_pybytes()


def batch_messages(batch: pa.RecordBatch, max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[tuple[int, bytes]]:
    """(rows, encapsulated IPC message) pieces of batch, each about max_bytes at most (one row at least)."""
    if batch.num_rows == 0:
        return
    size = batch.get_total_buffer_size()
    rows = batch.num_rows if size <= max_bytes else max(1, batch.num_rows * max_bytes // size)
    for offset in range(0, batch.num_rows, rows):
        piece = batch.slice(offset, rows)
        yield piece.num_rows, piece.serialize().to_pybytes()


def read_schema(message: bytes, what: str) -> pa.Schema:
    """The schema from a schema message; DataLoss naming what sent it if it does not decode."""
    try:
        return pa.ipc.read_schema(pa.py_buffer(message))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataLoss(
            f"{what} sent an Arrow schema message that does not decode: {exc}", reason="ARROW_INVALID"
        ) from exc


def read_batch(message: bytes, schema: pa.Schema, what: str) -> pa.RecordBatch:
    """One record batch from its message; DataLoss naming what sent it if it does not decode."""
    try:
        batch = pa.ipc.read_record_batch(pa.py_buffer(message), schema)
        batch.validate()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataLoss(f"{what} sent an Arrow batch that does not decode: {exc}", reason="ARROW_INVALID") from exc
    return batch
