"""The Source protocol every data source implements, and the value conversions they share."""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar, runtime_checkable

import pyarrow as pa

from catalog.values import parse_date, parse_timestamp
from exchange.errors import FailedPrecondition, FieldViolation, InvalidArgument

from .filters import RowFilter

DEFAULT_BATCH_ROWS = 65536
T = TypeVar("T")


@runtime_checkable
class Source(Protocol):
    """A department's data behind one dataset: keyed lookups of documents and streamed table scans."""

    async def lookup(self, key: str) -> dict[str, Any] | None:
        """The JSON-shaped document for key, or None when the upstream does not know the key."""
        ...

    def scan(
        self,
        columns: Sequence[str] | None,
        row_filter: RowFilter | None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> AsyncIterator[pa.RecordBatch]:
        """Stream the rows matching row_filter, only the given columns, in batches of at most batch_rows."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...


class UpstreamDataInvalid(FailedPrecondition):
    """The upstream answered, but with data that does not fit the dataset's mapping."""

    default_reason = "UPSTREAM_DATA_INVALID"


def upstream_data_invalid(upstream: str, field: str, where: str, problem: str) -> UpstreamDataInvalid:
    """The error for a value from upstream that does not fit field (found at where, e.g. a JSON path)."""
    return UpstreamDataInvalid(
        f"{upstream} returned data that does not fit field {field!r} (from {where}): {problem}; "
        "fix the upstream data or the adapter's field mapping",
        violations=[FieldViolation(field, f"{where}: {problem}")],
        metadata={"upstream": upstream, "field": field, "source_path": where},
    )


def project_schema(schema: pa.Schema, columns: Sequence[str] | None) -> pa.Schema:
    """The schema restricted to columns (all of it when None); unknown columns are InvalidArgument."""
    if columns is None:
        return schema
    unknown = [c for c in columns if schema.get_field_index(c) < 0]
    if unknown:
        raise InvalidArgument(
            f"unknown column(s) {', '.join(map(repr, unknown))}; known columns: {', '.join(schema.names)}",
            reason="UNKNOWN_COLUMN",
            violations=[FieldViolation(f"columns.{c}", "unknown column") for c in unknown],
        )
    return pa.schema([schema.field(c) for c in columns])


def check_batch_rows(batch_rows: int) -> int:
    """A positive batch size, or InvalidArgument."""
    if batch_rows < 1:
        raise InvalidArgument(
            f"batch_rows must be at least 1, got {batch_rows}",
            violations=[FieldViolation("batch_rows", "must be >= 1")],
        )
    return batch_rows


def scan_schema(schema: pa.Schema, columns: Sequence[str] | None, batch_rows: int) -> pa.Schema:
    """What a scan answers with (schema restricted to columns), once its batch size is checked: a scan's first step."""
    check_batch_rows(batch_rows)
    return project_schema(schema, columns)


def to_json_value(value: Any) -> Any:
    """A database or Arrow value in JSON shape: dates as ISO strings, Decimal as a string, bytes base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # JSON has no NaN; an upstream NaN means "no value".
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return str(value)


def _read(parse: Callable[[str], T], text: str) -> T:
    """parse(text), its ValueError naming the text."""
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"{exc}, found {text!r}") from None


def check_json_value(value: Any, arrow_type: pa.DataType) -> Any:
    """Check a JSON value fits arrow_type and return it in canonical JSON shape; ValueError if not."""
    if value is None:
        return None
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        if not isinstance(value, str):
            raise ValueError(f"expected a string, found {type(value).__name__} {value!r}")
        return value
    if pa.types.is_boolean(arrow_type):
        if not isinstance(value, bool):
            raise ValueError(f"expected true/false, found {value!r}")
        return value
    if pa.types.is_integer(arrow_type):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, found {value!r}")
        return value
    if pa.types.is_floating(arrow_type):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, found {value!r}")
        return float(value)
    if pa.types.is_decimal(arrow_type):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"expected a decimal number, found {value!r}")
        try:
            return str(Decimal(str(value)))
        except InvalidOperation:
            raise ValueError(f"expected a decimal number, found {value!r}") from None
    if pa.types.is_date(arrow_type):
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO date string, found {value!r}")
        # An upstream timestamp in a date column gives its date as written (databases often keep dates so).
        return _read(parse_date, value[:10] if "T" in value else value).isoformat()
    if pa.types.is_timestamp(arrow_type):
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO timestamp string, found {value!r}")
        # A time without an offset gets the column's zone here, so the document passed on names its instant.
        return _read(lambda text: parse_timestamp(text, arrow_type), value).isoformat()
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        if not isinstance(value, list):
            raise ValueError(f"expected a list, found {value!r}")
        return [check_json_value(v, arrow_type.value_type) for v in value]
    if pa.types.is_struct(arrow_type):
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, found {value!r}")
        return {f.name: check_json_value(value.get(f.name), f.type) for f in arrow_type}
    return value


def from_json_value(value: Any, arrow_type: pa.DataType) -> Any:
    """A JSON-shaped value as the Python value pyarrow expects for arrow_type."""
    if value is None:
        return None
    if pa.types.is_date(arrow_type):
        return parse_date(value)
    if pa.types.is_timestamp(arrow_type):
        return parse_timestamp(value, arrow_type)
    if pa.types.is_decimal(arrow_type):
        return Decimal(value)
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return base64.b64decode(value)
    return value


def documents_to_batch(documents: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """JSON-shaped documents as one record batch with the given schema (fields not in it are dropped)."""
    columns = [pa.array([from_json_value(doc.get(f.name), f.type) for doc in documents], type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


MAX_KEY_CHARS = 512


def check_key(key: str) -> str:
    """Refuse keys no dataset uses: empty, longer than MAX_KEY_CHARS, or with control characters."""
    problem = None
    if not key:
        problem = "must not be empty"
    elif len(key) > MAX_KEY_CHARS:
        problem = f"is {len(key)} characters long; keys are at most {MAX_KEY_CHARS}"
    elif any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        problem = "contains control characters"
    if problem is not None:
        raise InvalidArgument(
            f"lookup key {problem}", reason="KEY_INVALID", violations=[FieldViolation("key", problem)]
        )
    return key
