"""Every built-in source satisfies the Source protocol the Provider server is written against."""

from pathlib import Path

import pyarrow as pa
import pytest

from adapters.sources import FileSource, RestSource, Source, SqlSource
from adapters.sources.base import scan_schema
from exchange.errors import InvalidArgument

SCHEMA = pa.schema([("k", pa.string()), ("v", pa.int64())])


def _sources(folder: Path) -> list[Source]:
    return [
        RestSource("http://127.0.0.1:1", "/r/{key}", {}, SCHEMA, scan_path="/all"),
        SqlSource(f"sqlite+aiosqlite:///{folder / 'x.db'}", "t", "k", {}, SCHEMA),
        FileSource(folder / "x.parquet", "k", {}, SCHEMA),
    ]


def test_built_in_sources_are_sources(tmp_path: Path) -> None:
    assert all(isinstance(s, Source) for s in _sources(tmp_path))


def test_a_scan_answers_with_the_columns_asked_for_once_its_batch_size_is_checked() -> None:
    assert scan_schema(SCHEMA, ["v"], 10) == pa.schema([("v", pa.int64())])
    assert scan_schema(SCHEMA, None, 1) == SCHEMA
    with pytest.raises(InvalidArgument) as batch:
        scan_schema(SCHEMA, ["nope"], 0)
    assert "batch_rows" in batch.value.message
    with pytest.raises(InvalidArgument) as column:
        scan_schema(SCHEMA, ["nope"], 10)
    assert column.value.reason == "UNKNOWN_COLUMN"


async def test_every_built_in_source_refuses_a_bad_batch_size_and_an_unknown_column_before_reading(
    tmp_path: Path,
) -> None:
    for source in _sources(tmp_path):
        with pytest.raises(InvalidArgument) as batch:
            await anext(source.scan(["nope"], None, 0))
        assert "batch_rows" in batch.value.message, source
        with pytest.raises(InvalidArgument) as column:
            await anext(source.scan(["nope"], None, 10))
        assert column.value.reason == "UNKNOWN_COLUMN", source
        await source.close()
