"""FileSource against real Parquet and CSV files, including a file replaced while the source serves it."""

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import cast

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from adapters.sources.files import FileSource
from adapters.sources.filters import parse_filter
from exchange.errors import FailedPrecondition, InvalidArgument, Unavailable

SCHEMA = pa.schema(
    [
        pa.field("certificate_no", pa.string(), nullable=False),
        pa.field("owner_name", pa.string()),
        pa.field("area_m2", pa.float64()),
        pa.field("registered_on", pa.date32()),
        pa.field("status", pa.string()),
    ]
)
COLUMN_MAP = {
    "certificate_no": "bdcqzh",
    "owner_name": "qlr",
    "area_m2": "mj",
    "registered_on": "djrq",
    "status": "zt",
}


def certificates(n: int, start: int = 0, owner_prefix: str = "Owner") -> pa.Table:
    return pa.table(
        {
            "bdcqzh": [f"BDC-{i:07d}" for i in range(start, start + n)],
            "qlr": [f"{owner_prefix} {i}" for i in range(start, start + n)],
            "mj": [50.0 + i for i in range(start, start + n)],
            "djrq": [dt.date(2020, 1, 1) + dt.timedelta(days=i % 1000) for i in range(start, start + n)],
            "zt": ["01" if i % 4 else "03" for i in range(start, start + n)],
        }
    )


def replace_file(path: Path, write: object) -> None:
    """Write a new version next to the file and rename it over (what a well-behaved exporter does)."""
    tmp = path.with_suffix(".tmp" + path.suffix)
    write(tmp)  # type: ignore[operator]
    os.replace(tmp, path)


@pytest.fixture
def parquet_file(tmp_path: Path) -> Path:
    path = tmp_path / "property_certificates.parquet"
    pq.write_table(certificates(100), path)
    return path


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "property_certificates.csv"
    pacsv.write_csv(certificates(20), path)
    return path


async def test_parquet_lookup_returns_the_row_in_json_shape(parquet_file: Path) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    assert await src.lookup("BDC-0000007") == {
        "certificate_no": "BDC-0000007",
        "owner_name": "Owner 7",
        "area_m2": 57.0,
        "registered_on": "2020-01-08",
        "status": "01",
    }
    assert await src.lookup("BDC-9999999") is None
    await src.close()


async def test_csv_keeps_leading_zero_codes_as_strings(csv_file: Path) -> None:
    src = FileSource(csv_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    doc = await src.lookup("BDC-0000004")
    assert doc is not None and doc["status"] == "03" and doc["registered_on"] == "2020-01-05"


async def test_changed_file_is_reloaded_on_the_next_lookup(parquet_file: Path) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    assert (await src.lookup("BDC-0000001"))["owner_name"] == "Owner 1"  # type: ignore[index]
    assert await src.lookup("BDC-0000150") is None
    replace_file(parquet_file, lambda p: pq.write_table(certificates(200, owner_prefix="New owner"), p))
    assert (await src.lookup("BDC-0000001"))["owner_name"] == "New owner 1"  # type: ignore[index]
    assert await src.lookup("BDC-0000150") is not None


async def test_changed_csv_file_is_reloaded(csv_file: Path) -> None:
    src = FileSource(csv_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    assert await src.lookup("BDC-0000030") is None
    replace_file(csv_file, lambda p: pacsv.write_csv(certificates(40), p))
    assert await src.lookup("BDC-0000030") is not None


async def test_a_broken_new_version_keeps_the_old_data_and_warns(
    parquet_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    assert await src.lookup("BDC-0000001") is not None
    replace_file(parquet_file, lambda p: p.write_bytes(b"PAR1 this is not a parquet file"))
    with caplog.at_level(logging.WARNING):
        doc = await src.lookup("BDC-0000001")
    assert doc is not None and doc["owner_name"] == "Owner 1"
    assert any("keeping the previous version" in r.getMessage() for r in caplog.records)
    # Once fixed, the new version is picked up.
    replace_file(parquet_file, lambda p: pq.write_table(certificates(3, owner_prefix="Fixed"), p))
    assert (await src.lookup("BDC-0000001"))["owner_name"] == "Fixed 1"  # type: ignore[index]


async def test_duplicate_keys_in_a_new_version_keep_the_old_data(parquet_file: Path) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    await src.lookup("BDC-0000001")
    replace_file(parquet_file, lambda p: pq.write_table(pa.concat_tables([certificates(2), certificates(2)]), p))
    assert (await src.lookup("BDC-0000050")) is not None


async def test_unreadable_file_on_first_use_is_unavailable(tmp_path: Path) -> None:
    src = FileSource(tmp_path / "missing.parquet", "bdcqzh", COLUMN_MAP, SCHEMA)
    with pytest.raises(Unavailable) as err:
        await src.lookup("BDC-0000001")
    assert "missing.parquet" in err.value.message


async def test_wrong_typed_column_is_upstream_data_invalid(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(certificates(3).set_column(2, "mj", pa.array(["big", "small", "tiny"])), path)
    src = FileSource(path, "bdcqzh", COLUMN_MAP, SCHEMA)
    with pytest.raises(Unavailable) as err:
        await src.lookup("BDC-0000001")
    cause = err.value.__cause__
    assert isinstance(cause, FailedPrecondition) and cause.reason == "UPSTREAM_DATA_INVALID"
    assert "area_m2" in cause.message and "mj" in cause.message


@pytest.mark.parametrize("key", ["../../etc/passwd", "%2e%2e%2f", "/etc/passwd", "' OR 1=1 --"])
async def test_keys_are_only_index_lookups_never_paths(parquet_file: Path, key: str) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    assert await src.lookup(key) is None


async def test_ten_thousand_character_key_is_refused(parquet_file: Path) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    with pytest.raises(InvalidArgument):
        await src.lookup("k" * 10_000)


def test_only_parquet_and_csv_files_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        FileSource(tmp_path / "data.json", "bdcqzh", COLUMN_MAP, SCHEMA)


@pytest.mark.parametrize("fixture", ["parquet_file", "csv_file"])
async def test_scan_projects_renames_and_filters(fixture: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(fixture)
    src = FileSource(path, "bdcqzh", COLUMN_MAP, SCHEMA)
    batches = [
        b
        async for b in src.scan(
            ["certificate_no", "registered_on"],
            parse_filter("status = '03' and registered_on >= '2020-01-09'"),
            batch_rows=3,
        )
    ]
    table = pa.Table.from_batches(batches)
    assert table.schema == pa.schema([SCHEMA.field("certificate_no"), SCHEMA.field("registered_on")])
    numbers = [int(n[4:]) for n in table.column("certificate_no").to_pylist()]
    assert numbers and all(i % 4 == 0 and i >= 8 for i in numbers)
    assert max(b.num_rows for b in batches) <= 3


async def test_scan_of_unknown_column_is_invalid_argument(parquet_file: Path) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    with pytest.raises(InvalidArgument):
        [b async for b in src.scan(["owner_name", "secret"], None)]


ROWS_LARGE = 1_000_000


def write_large_parquet(path: Path, rows: int = ROWS_LARGE) -> int:
    """Write a `rows`-row file (1,000,000 by default) chunk by chunk; return the table's size in memory."""
    schema = pa.schema(
        [
            ("bdcqzh", pa.string()),
            ("qlr", pa.string()),
            ("mj", pa.float64()),
            ("djrq", pa.date32()),
            ("zt", pa.string()),
        ]
    )
    size = 0
    chunk = 50_000
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, chunk):
            ids = pa.array(range(start, start + chunk), pa.int64())
            text = pc.cast(ids, pa.string())
            table = pa.table(
                {
                    "bdcqzh": pc.binary_join_element_wise("BDC-", pc.utf8_lpad(text, 7, "0"), ""),
                    "qlr": pc.binary_join_element_wise(
                        "Owner of a rather long property name, as registered at the natural resources bureau of the "
                        "county where the property lies, with the address and the parcel number, number ",
                        text,
                        "",
                    ),
                    "mj": pc.add(pc.cast(ids, pa.float64()), 0.5),
                    "djrq": pa.array([dt.date(2020, 1, 1)] * chunk, pa.date32()),
                    "zt": pa.array(["01", "03"] * (chunk // 2)),
                },
                schema=schema,
            )
            size += table.nbytes
            writer.write_table(table, row_group_size=chunk // 2)
    return size


async def measure_scan(path: str) -> dict[str, int]:
    """Scan the file at path once and report rows and the peak growth of RSS and of Arrow's allocations."""
    # Warm up Arrow's thread pools and allocator on a small file: a fixed cost, not the data.
    warm = Path(path).with_name("warm.parquet")
    pq.write_table(certificates(10), warm)
    [b async for b in FileSource(warm, "bdcqzh", COLUMN_MAP, SCHEMA).scan(None, None)]
    src = FileSource(Path(path), "bdcqzh", COLUMN_MAP, SCHEMA)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    arrow_before = pa.total_allocated_bytes()
    rows, peak_rss, peak_arrow = 0, rss_before, arrow_before
    async for batch in src.scan(["certificate_no", "owner_name", "area_m2"], None, batch_rows=8192):
        rows += batch.num_rows
        peak_rss = max(peak_rss, process.memory_info().rss)
        peak_arrow = max(peak_arrow, pa.total_allocated_bytes())
        del batch
    return {"rows": rows, "rss_growth": peak_rss - rss_before, "arrow_growth": peak_arrow - arrow_before}


def _measured(path: Path) -> dict[str, int]:
    """measure_scan in a process of its own: the suite's earlier tests leave this one's heap in any state."""
    probe = (
        "import asyncio, json, sys; from tests.integration.adapters.test_file_source import measure_scan; "
        "print(json.dumps(asyncio.run(measure_scan(sys.argv[1]))))"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True, cwd=root, timeout=120
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def test_million_row_parquet_scan_streams_in_bounded_memory(tmp_path: Path) -> None:
    one, two = tmp_path / "one" / "large.parquet", tmp_path / "two" / "large.parquet"
    one.parent.mkdir()
    two.parent.mkdir()
    table_bytes = write_large_parquet(one)
    write_large_parquet(two, 2 * ROWS_LARGE)
    small, large = _measured(one), _measured(two)
    print(
        f"\n1M-row scan: table {table_bytes / 1e6:.1f} MB in memory; peak RSS growth {small['rss_growth'] / 1e6:.1f} "
        f"MB (2M rows: {large['rss_growth'] / 1e6:.1f} MB); peak Arrow allocation growth "
        f"{small['arrow_growth'] / 1e6:.1f} MB (2M rows: {large['arrow_growth'] / 1e6:.1f} MB)"
    )
    assert (small["rows"], large["rows"]) == (ROWS_LARGE, 2 * ROWS_LARGE)
    # What Arrow holds stays a fraction of the table, whatever its size.
    assert small["arrow_growth"] < table_bytes / 4 and large["arrow_growth"] < table_bytes / 4
    # The process does not grow with the table: twice the rows add far less than another table's worth.
    # (The growth itself is mostly the allocator keeping decoded pages for reuse, about 100 MB here.)
    assert small["rss_growth"] < table_bytes
    assert large["rss_growth"] < small["rss_growth"] + table_bytes / 2


async def test_a_consumer_that_stops_early_ends_the_scan_cleanly(parquet_file: Path) -> None:
    src = FileSource(parquet_file, "bdcqzh", COLUMN_MAP, SCHEMA)
    scan = cast(AsyncGenerator[pa.RecordBatch, None], src.scan(None, None, batch_rows=10))
    first = await anext(scan)
    await scan.aclose()
    assert first.num_rows == 10
    # The file can be replaced and read again afterwards.
    replace_file(parquet_file, lambda p: pq.write_table(certificates(5), p))
    assert pa.Table.from_batches([b async for b in src.scan(None, None)]).num_rows == 5
