"""The State Council's holiday arrangements shipped with the hub, and an operator's next year laid over them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from exchange.cases.calendar import hub_calendar, load_calendar, parse_calendar, shipped_calendar, uncovered_years
from exchange.errors import InvalidArgument

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "calendar" / "cn-2026.yaml"


def test_2025_and_2026_are_shipped_with_their_notices() -> None:
    calendar = shipped_calendar()
    assert calendar.years == {2025, 2026}
    assert calendar.sources == ("国办发明电〔2024〕12号", "国办发明电〔2025〕7号")
    # 元旦 1 + 春节 8 + 清明 3 + 劳动节 5 + 端午 3 + 国庆中秋 8; and 3 + 9 + 3 + 5 + 3 + 3 + 7 in 2026.
    assert sum(d.year == 2025 for d in calendar.holidays) == 28
    assert sum(d.year == 2026 for d in calendar.holidays) == 33
    assert sorted(calendar.makeup_workdays) == [
        date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11),
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
        date(2026, 10, 10),
    ]  # fmt: skip
    assert all(d.weekday() >= 5 for d in calendar.makeup_workdays)


def test_the_example_file_says_what_the_shipped_2026_says() -> None:
    example, shipped = load_calendar(EXAMPLE), shipped_calendar()
    assert example.holidays == {d for d in shipped.holidays if d.year == 2026}
    assert example.makeup_workdays == {d for d in shipped.makeup_workdays if d.year == 2026}


def test_a_deadline_skips_national_day_and_counts_the_makeup_saturday() -> None:
    calendar = shipped_calendar()
    # Accepted on Wednesday 30 September 2026 (Beijing): 1 October to 7 October are off, Thursday 8 October works.
    accepted = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    assert calendar.local_date(calendar.add_working_days(accepted, 1)) == date(2026, 10, 8)
    # Friday 9, then Saturday 10 October is a make-up working day.
    assert calendar.local_date(calendar.add_working_days(accepted, 3)) == date(2026, 10, 10)
    assert calendar.end_of_day(date(2026, 10, 8)) == datetime(2026, 10, 8, 15, 59, 59, 999999, tzinfo=UTC)


def test_next_years_notice_is_laid_over_the_shipped_years(tmp_path: Path) -> None:
    (tmp_path / "cn-2027.yaml").write_text(
        "timezone: Asia/Shanghai\nyears: [2027]\nsource: 国办发明电〔2026〕X号\n"
        "holidays: [2027-01-01]\nmakeup_workdays: []\n"
    )
    calendar = hub_calendar(tmp_path)
    assert calendar.years == {2025, 2026, 2027}
    assert not calendar.is_working_day(date(2027, 1, 1)) and not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.sources[-1] == "国办发明电〔2026〕X号"
    assert uncovered_years(calendar, date(2026, 12, 2)) == []


def test_a_year_the_operator_declares_replaces_the_shipped_one(tmp_path: Path) -> None:
    local = tmp_path / "local-2026.yaml"
    local.write_text("years: [2026]\nholidays: [2026-03-02]\n")
    calendar = hub_calendar(local)
    assert not calendar.is_working_day(date(2026, 3, 2))
    assert calendar.is_working_day(date(2026, 10, 1))  # the shipped National Day of 2026 is replaced
    assert not calendar.is_working_day(date(2025, 10, 1))  # 2025 stays as shipped
    assert hub_calendar(local, shipped=False).years == {2026}


def test_a_date_outside_the_declared_years_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_calendar("years: [2027]\nholidays: [2026-12-31]\n", source="cn-2027.yaml")
    assert [(v.field, v.description) for v in caught.value.violations] == [
        ("years", "line 2: 2026-12-31 is outside the years the file declares")
    ]


def test_years_without_holiday_data_are_named_ahead_of_time() -> None:
    calendar = shipped_calendar()
    assert uncovered_years(calendar, date(2026, 6, 1)) == []
    assert uncovered_years(calendar, date(2026, 12, 2)) == [2027]
    assert uncovered_years(calendar, date(2024, 12, 2)) == [2024]
