"""Calendar edges: keys of the calendar file in both sort orders, the last instant of a day, durations that
end exactly at a day's end, and the facts each file error names (key, line, value, weekday).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.cases.calendar import DEFAULT_TIMEZONE, WorkingCalendar, load_calendar, parse_calendar, require_aware
from exchange.errors import InvalidArgument, NotFound

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLAIN = WorkingCalendar()
FRIDAY = date(2026, 3, 6)


def local(d: date, h: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, h, tzinfo=SHANGHAI)


def file_error(text: str, source: str = "cal.yaml") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse_calendar(text, source)
    assert caught.value.reason == "CALENDAR_INVALID"
    return caught.value


def violations(error: InvalidArgument) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in error.violations]


# The file's keys


@settings(max_examples=60, deadline=None)
@given(key=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=16))
def test_only_the_known_keys_are_read_whatever_their_sort_order(key: str) -> None:
    if key in ("holidays", "makeup_workdays", "timezone", "years", "source"):
        return
    error = file_error(f"{key}: UTC\n")
    expected = "line 1: unknown key; allowed: timezone, years, source, holidays, makeup_workdays"
    assert violations(error) == [(key, expected)]


@pytest.mark.parametrize("key", ["tz", "a", "timezones", "holiday", "zzz"])
def test_keys_that_sort_near_the_known_ones_are_unknown(key: str) -> None:
    error = file_error(f"holidays: []\n{key}: UTC\n")
    assert error.message == "cal.yaml has 1 error(s)"
    expected = "line 2: unknown key; allowed: timezone, years, source, holidays, makeup_workdays"
    assert violations(error) == [(key, expected)]


def test_the_timezone_key_sets_the_zone_and_an_unknown_zone_is_named() -> None:
    assert parse_calendar("timezone: UTC\n").tz == ZoneInfo("UTC")
    assert parse_calendar("holidays: []\n").tz == DEFAULT_TIMEZONE
    error = file_error("holidays: []\ntimezone: Mars/Olympus\n")
    assert violations(error) == [("timezone", "line 2: unknown time zone 'Mars/Olympus'")]
    error = file_error("timezone: [UTC]\n")
    assert violations(error) == [("timezone", "line 1: expected a non-empty string, found array")]


def test_dates_that_are_not_a_list_or_not_dates_are_named_with_line_and_value() -> None:
    error = file_error("holidays: 2026-01-01\nmakeup_workdays:\n  - 2026-02-14\n  - [1]\n  - soon\n")
    assert error.message == "cal.yaml has 3 error(s)"
    assert violations(error) == [
        ("holidays", "line 1: expected a list of dates, found date"),
        ("makeup_workdays[1]", "line 4: expected a date such as 2026-01-15, found '[1]'"),
        ("makeup_workdays[2]", "line 5: expected a date such as 2026-01-15, found 'soon'"),
    ]


def test_a_make_up_day_must_be_a_weekend_day_that_is_not_a_holiday() -> None:
    error = file_error("holidays:\n  - 2026-02-15\nmakeup_workdays:\n  - 2026-02-15\n  - 2026-02-16\n  - 2026-02-14\n")
    assert violations(error) == [
        ("makeup_workdays", "line 4: 2026-02-15 is also listed as a holiday"),
        (
            "makeup_workdays",
            "line 5: 2026-02-16 is a Monday, already a working day; make-up days are Saturdays or Sundays",
        ),
    ]


def test_a_friday_make_up_day_is_refused_and_saturday_and_sunday_are_accepted() -> None:
    assert violations(file_error("makeup_workdays: [2026-03-06]\n"))[0][1].startswith("line 1: 2026-03-06 is a Friday")
    cal = parse_calendar("makeup_workdays: [2026-03-07, 2026-03-08]\nholidays: [2026-03-09]\n")
    assert cal.makeup_workdays == frozenset({date(2026, 3, 7), date(2026, 3, 8)})
    assert cal.holidays == frozenset({date(2026, 3, 9)})


def test_a_file_that_is_not_a_mapping_or_not_yaml_names_the_source() -> None:
    not_a_mapping = file_error("- 1\n")
    assert not_a_mapping.message == "cal.yaml has 1 error(s)"
    assert violations(not_a_mapping) == [("(top)", "line 1: expected an object, found array")]
    assert file_error("a: [").message.startswith("cal.yaml, line 1 column 5: invalid YAML: ")
    assert parse_calendar("") == WorkingCalendar()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        load_calendar(tmp_path / "none.yaml")
    assert caught.value.reason == "CALENDAR_NOT_FOUND"
    assert caught.value.message == f"calendar file {tmp_path / 'none.yaml'} does not exist"
    (tmp_path / "bad.yaml").write_text("x: 1\n", encoding="utf-8")
    with pytest.raises(InvalidArgument) as error:
        load_calendar(tmp_path / "bad.yaml")
    assert error.value.message == f"{tmp_path / 'bad.yaml'} has 1 error(s)"


# Days and instants


def test_friday_works_saturday_does_not_and_a_make_up_saturday_does() -> None:
    saturday = FRIDAY + timedelta(days=1)
    assert PLAIN.is_working_day(FRIDAY) and not PLAIN.is_working_day(saturday)
    assert WorkingCalendar(makeup_workdays=frozenset({saturday})).is_working_day(saturday)
    assert not WorkingCalendar(holidays=frozenset({FRIDAY})).is_working_day(FRIDAY)


def test_end_of_day_is_the_last_microsecond_of_the_local_date_in_utc() -> None:
    end = PLAIN.end_of_day(FRIDAY)
    assert end == datetime(2026, 3, 6, 15, 59, 59, 999999, tzinfo=UTC) and end.tzinfo is UTC
    assert PLAIN.day_bounds(FRIDAY) == (
        datetime(2026, 3, 5, 16, tzinfo=UTC),
        datetime(2026, 3, 6, 16, tzinfo=UTC),
    )


def test_one_working_day_from_friday_is_the_end_of_monday() -> None:
    assert PLAIN.add_working_days(local(FRIDAY, 9), 1) == PLAIN.end_of_day(date(2026, 3, 9))
    assert PLAIN.add_working_days(local(FRIDAY, 9), 2) == PLAIN.end_of_day(date(2026, 3, 10))


def test_negative_working_days_and_naive_datetimes_are_refused_naming_the_argument() -> None:
    with pytest.raises(InvalidArgument) as caught:
        PLAIN.add_working_days(local(FRIDAY), -1)
    assert caught.value.reason == "NEGATIVE_WORKING_DAYS"
    assert caught.value.message == "a time limit counts forward; got -1 working days"
    assert [(v.field, v.description) for v in caught.value.violations] == [("n", "must be zero or more")]
    with pytest.raises(InvalidArgument) as caught:
        require_aware(datetime(2026, 3, 6, 9), "start")
    assert caught.value.reason == "NAIVE_DATETIME"
    assert caught.value.message == "start must carry a time zone (got naive 2026-03-06T09:00:00)"
    assert [(v.field, v.description) for v in caught.value.violations] == [
        ("start", "a timezone-aware datetime is required")
    ]
    with pytest.raises(InvalidArgument) as caught:
        PLAIN.add_working_time(local(FRIDAY), timedelta(seconds=-1))
    assert caught.value.reason == "NEGATIVE_DURATION"
    assert caught.value.message == "working time to add must not be negative; got -1 day, 23:59:59"


def test_working_time_that_ends_exactly_at_a_days_end_stays_on_that_day() -> None:
    start = local(FRIDAY)
    assert PLAIN.add_working_time(start, timedelta(days=1)) == datetime(2026, 3, 6, 16, tzinfo=UTC)
    assert PLAIN.add_working_time(start, timedelta(days=1, microseconds=1)) == datetime(
        2026, 3, 8, 16, 0, 0, 1, tzinfo=UTC
    )


def test_adding_no_working_time_returns_the_start_in_utc_even_on_a_weekend() -> None:
    saturday = local(FRIDAY + timedelta(days=1), 10)
    result = PLAIN.add_working_time(saturday, timedelta())
    assert result == saturday and result.tzinfo is UTC


def test_working_time_between_equal_moments_is_zero_and_reversed_is_negative() -> None:
    a, b = local(FRIDAY, 9), local(FRIDAY, 11)
    assert PLAIN.working_time_between(a, a) == timedelta()
    assert PLAIN.working_time_between(a, b) == timedelta(hours=2)
    assert PLAIN.working_time_between(b, a) == -timedelta(hours=2)
    assert PLAIN.working_days_left(a, b) == pytest.approx(2 / 24)
    assert PLAIN.working_time_between(local(FRIDAY, 12), local(FRIDAY + timedelta(days=3), 12)) == timedelta(hours=24)


def test_every_method_names_its_naive_argument() -> None:
    naive, aware = datetime(2026, 3, 6, 9), local(FRIDAY, 9)
    calls = [
        ("moment", lambda: PLAIN.local_date(naive)),
        ("start", lambda: PLAIN.add_working_days(naive, 1)),
        ("a", lambda: PLAIN.working_time_between(naive, aware)),
        ("b", lambda: PLAIN.working_time_between(aware, naive)),
        ("start", lambda: PLAIN.add_working_time(naive, timedelta(hours=1))),
    ]
    for name, call in calls:
        with pytest.raises(InvalidArgument) as caught:
            call()
        assert caught.value.message == f"{name} must carry a time zone (got naive 2026-03-06T09:00:00)"


def test_day_bounds_are_utc_datetimes() -> None:
    start, end = PLAIN.day_bounds(FRIDAY)
    assert start.tzinfo is UTC and end.tzinfo is UTC


def test_a_calendar_text_without_a_source_is_called_calendar_in_messages() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_calendar("- 1\n")
    assert caught.value.message == "<calendar> has 1 error(s)"


def test_a_datetime_whose_zone_gives_no_offset_counts_as_naive() -> None:
    from datetime import tzinfo

    class NoOffset(tzinfo):
        def utcoffset(self, dt: datetime | None) -> None:
            return None

        def dst(self, dt: datetime | None) -> None:
            return None

        def tzname(self, dt: datetime | None) -> str:
            return "nowhere"

    with pytest.raises(InvalidArgument) as caught:
        require_aware(datetime(2026, 3, 6, 9, tzinfo=NoOffset()), "start")
    assert caught.value.reason == "NAIVE_DATETIME"


def test_a_calendar_mistake_reads_like_the_same_mistake_in_any_spec_with_its_line() -> None:
    """Calendar files are read with the catalog's SpecReader; the line of the offending key comes first."""
    error = file_error("holidays:\n  - 2026-01-01\n  - 5\nsource: 7\nyears: [2026, next]\nholiday: []\n")
    assert violations(error) == [
        ("holiday", "line 6: unknown key; allowed: timezone, years, source, holidays, makeup_workdays"),
        ("years[1]", "line 5: expected an integer in 1900..2999, found 'next'"),
        ("source", 'line 4: expected a string, found the number 7; quote it ("7")'),
        ("holidays[1]", "line 3: expected a date such as 2026-01-15, found '5'"),
    ]
