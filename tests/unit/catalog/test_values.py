"""The one reader of ISO dates and timestamps: its rule for a time written without an offset."""

from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from catalog.values import parse_date, parse_timestamp

SHANGHAI = pa.timestamp("us", tz="Asia/Shanghai")


def test_a_time_without_an_offset_is_local_time_in_a_zoned_column() -> None:
    assert parse_timestamp("2025-01-02T08:00:00", SHANGHAI) == datetime(2025, 1, 2, 0, 0, tzinfo=UTC)
    assert parse_timestamp("2025-01-02 08:00", pa.timestamp("s", tz="+05:30")).utcoffset() == timedelta(hours=5.5)


def test_a_time_with_an_offset_keeps_its_instant_in_a_zoned_column() -> None:
    moment = parse_timestamp("2025-01-02T08:00:00Z", SHANGHAI)
    assert moment == datetime(2025, 1, 2, 8, 0, tzinfo=UTC) and moment.utcoffset() == timedelta(0)


def test_a_column_without_a_zone_holds_utc_wall_time() -> None:
    assert parse_timestamp("2025-01-02T08:00:00+08:00", pa.timestamp("us")) == datetime(2025, 1, 2, 0, 0)
    assert parse_timestamp("2025-01-02T08:00:00", pa.timestamp("us")) == datetime(2025, 1, 2, 8, 0)
    assert parse_timestamp("2025-01-02T08:00:00.5-0100", pa.timestamp("ms")).tzinfo is None


@pytest.mark.parametrize("text", ["yesterday", "2025-01-02", "20250102T080000", "2025-01-02T08", "2025-01-02T25:00"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected an ISO-8601 timestamp"):
        parse_timestamp(text, SHANGHAI)


def test_a_date_is_written_year_month_day_and_must_be_on_the_calendar() -> None:
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    with pytest.raises(ValueError, match='expected a date "YYYY-MM-DD"'):
        parse_date("20240229")
    with pytest.raises(ValueError, match="expected a calendar date"):
        parse_date("2023-02-29")


def test_offsets_are_fixed_zones() -> None:
    assert parse_timestamp("2025-01-02T08:00", pa.timestamp("us", tz="-03:00")).tzinfo == timezone(timedelta(hours=-3))
