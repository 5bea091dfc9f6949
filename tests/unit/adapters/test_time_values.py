"""A time without an offset in a zoned column means the same instant to the catalog, the sources and the filters."""

from datetime import UTC, datetime

import pyarrow as pa

from adapters.sources.base import check_json_value, documents_to_batch
from adapters.sources.filters import parse_filter, to_arrow_expression
from catalog.schema import parse_schema

ZONED = pa.timestamp("us", tz="Asia/Shanghai")
UNZONED = pa.timestamp("us")
LOCAL = "2025-01-02T08:00:00"  # 08:00 in Shanghai is 00:00 UTC
EIGHT_IN_SHANGHAI = datetime(2025, 1, 2, 0, 0, tzinfo=UTC)


def catalog_reading(text: str, type_text: str) -> datetime:
    schema = parse_schema([{"name": "at", "type": type_text}])
    value: datetime = schema.to_arrow_table([{"at": text}]).column("at")[0].as_py()
    return value


def test_the_catalog_reads_a_local_time_in_the_columns_zone() -> None:
    assert catalog_reading(LOCAL, "timestamp[us, tz=Asia/Shanghai]") == EIGHT_IN_SHANGHAI


def test_a_scanned_batch_reads_a_local_time_as_the_catalog_does() -> None:
    batch = documents_to_batch([{"at": LOCAL}], pa.schema([("at", ZONED)]))
    assert batch.column(0)[0].as_py() == catalog_reading(LOCAL, "timestamp[us, tz=Asia/Shanghai]")


def test_an_upstream_local_time_is_passed_on_with_the_columns_offset() -> None:
    passed_on = check_json_value(LOCAL, ZONED)
    assert passed_on == "2025-01-02T08:00:00+08:00"
    assert catalog_reading(passed_on, "timestamp[us, tz=Asia/Shanghai]") == EIGHT_IN_SHANGHAI


def test_a_filter_on_a_zoned_column_reads_a_local_time_as_the_catalog_does() -> None:
    table = pa.table({"at": pa.array([EIGHT_IN_SHANGHAI, datetime(2025, 1, 2, 8, 0, tzinfo=UTC)], ZONED)})
    row_filter = parse_filter(f"at = '{LOCAL}'", table.schema)
    assert table.filter(to_arrow_expression(row_filter)).column("at").to_pylist() == [EIGHT_IN_SHANGHAI]


def test_a_time_with_an_offset_in_an_unzoned_column_is_its_utc_time_everywhere() -> None:
    aware = "2025-01-02T08:00:00+08:00"
    utc_wall_time = datetime(2025, 1, 2, 0, 0)
    assert catalog_reading(aware, "timestamp[us]") == utc_wall_time
    assert documents_to_batch([{"at": aware}], pa.schema([("at", UNZONED)])).column(0)[0].as_py() == utc_wall_time
    assert check_json_value(aware, UNZONED) == "2025-01-02T00:00:00"
    table = pa.table({"at": pa.array([utc_wall_time], UNZONED)})
    assert table.filter(to_arrow_expression(parse_filter(f"at = '{aware}'", table.schema))).num_rows == 1


def test_a_timestamp_the_catalog_refuses_is_refused_upstream_too() -> None:
    schema = parse_schema([{"name": "at", "type": "timestamp[us, tz=Asia/Shanghai]"}])
    for text in ("20250102T080000", "2025-01-02"):
        assert schema.validate_document({"at": text}) != []
        try:
            check_json_value(text, ZONED)
        except ValueError as exc:
            assert "expected an ISO-8601 timestamp" in str(exc)
        else:
            raise AssertionError(f"{text!r} was accepted upstream but the catalog refuses it")
