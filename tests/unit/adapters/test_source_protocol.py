"""Every built-in source satisfies the Source protocol the Provider server is written against."""

import pyarrow as pa

from adapters.sources import FileSource, RestSource, Source, SqlSource

SCHEMA = pa.schema([("k", pa.string())])


def test_built_in_sources_are_sources() -> None:
    sources = [
        RestSource("http://127.0.0.1:1", "/r/{key}", {}, SCHEMA),
        SqlSource("sqlite+aiosqlite:///x.db", "t", "k", {}, SCHEMA),
        FileSource("x.parquet", "k", {}, SCHEMA),
    ]
    assert all(isinstance(s, Source) for s in sources)
