"""The working-day calendar: deadlines, working time, and the YAML file operators maintain."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.cases.calendar import WorkingCalendar, load_calendar, parse_calendar
from exchange.errors import InvalidArgument, NotFound

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "calendar" / "cn-2026.yaml"
PLAIN = WorkingCalendar()


def local(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def cn2026() -> WorkingCalendar:
    return load_calendar(EXAMPLE)


def test_weekdays_work_weekends_do_not() -> None:
    assert PLAIN.is_working_day(date(2026, 11, 27))  # Friday
    assert not PLAIN.is_working_day(date(2026, 11, 28))  # Saturday
    assert not PLAIN.is_working_day(date(2026, 11, 29))  # Sunday


def test_holidays_are_off_and_make_up_weekend_days_are_on() -> None:
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 12, 1)}), makeup_workdays=frozenset({date(2026, 12, 5)}))
    assert not calendar.is_working_day(date(2026, 12, 1))  # a Tuesday holiday
    assert calendar.is_working_day(date(2026, 12, 5))  # a make-up Saturday


def test_deadline_is_the_end_of_the_nth_working_day_returned_in_utc() -> None:
    deadline = PLAIN.add_working_days(local(2026, 11, 24, 15), 1)  # Tuesday afternoon
    assert deadline == end_of(2026, 11, 25)
    assert deadline.tzinfo is UTC
    assert deadline == datetime(2026, 11, 25, 15, 59, 59, 999999, tzinfo=UTC)


def test_deadline_skips_the_weekend() -> None:
    # Thursday + 2 working days: Friday, then Monday.
    assert PLAIN.add_working_days(local(2026, 11, 26, 10), 2) == end_of(2026, 11, 30)


def test_deadline_counted_from_a_weekend_starts_on_monday() -> None:
    assert PLAIN.add_working_days(local(2026, 11, 28, 10), 1) == end_of(2026, 11, 30)


def test_deadline_uses_the_local_date_not_the_utc_date() -> None:
    # 20:00 UTC on Thursday is already Friday 04:00 in Shanghai.
    start = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    assert PLAIN.add_working_days(start, 1) == end_of(2026, 11, 30)


def test_zero_working_days_is_the_end_of_the_start_day() -> None:
    assert PLAIN.add_working_days(local(2026, 11, 24, 9), 0) == end_of(2026, 11, 24)


def test_deadline_skips_a_public_holiday(cn2026: WorkingCalendar) -> None:
    # Wednesday 30 September; 1-7 October are National Day holidays.
    assert cn2026.add_working_days(local(2026, 9, 30, 9), 1) == end_of(2026, 10, 8)


def test_deadline_lands_on_a_make_up_saturday(cn2026: WorkingCalendar) -> None:
    # Thursday 8, Friday 9, then Saturday 10 October is a make-up working day.
    assert cn2026.add_working_days(local(2026, 9, 30, 9), 3) == end_of(2026, 10, 10)


def test_spring_festival_shifts_a_ten_day_limit_across_two_make_up_saturdays(cn2026: WorkingCalendar) -> None:
    # Friday 13 Feb: Sat 14 (make-up), then 15-23 off, then 24, 25, 26, 27, Sat 28 (make-up), 2, 3, 4, 5.
    assert cn2026.add_working_days(local(2026, 2, 13, 9), 10) == end_of(2026, 3, 5)


def test_negative_and_naive_inputs_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        PLAIN.add_working_days(local(2026, 11, 24), -1)
    with pytest.raises(InvalidArgument) as caught:
        PLAIN.add_working_days(datetime(2026, 11, 24, 9), 1)
    assert caught.value.reason == "NAIVE_DATETIME"


def test_only_time_on_working_days_counts() -> None:
    friday_10, monday_10 = local(2026, 11, 27, 10), local(2026, 11, 30, 10)
    assert PLAIN.working_time_between(friday_10, monday_10) == timedelta(hours=24)
    assert PLAIN.working_time_between(monday_10, friday_10) == -timedelta(hours=24)
    assert PLAIN.working_time_between(local(2026, 11, 28, 1), local(2026, 11, 29, 23)) == timedelta()
    same_day = PLAIN.working_time_between(friday_10, local(2026, 11, 27, 13, 30))
    assert same_day == timedelta(hours=3, minutes=30)


def test_working_time_follows_local_days_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Sunday 29 March 2026 is both a make-up working day here and the night clocks go forward.
    calendar = WorkingCalendar(makeup_workdays=frozenset({date(2026, 3, 29)}), tz=berlin)
    saturday = datetime(2026, 3, 28, 12, tzinfo=berlin)
    monday = datetime(2026, 3, 30, 0, tzinfo=berlin)
    assert calendar.working_time_between(saturday, monday) == timedelta(hours=23)


def test_adding_working_time_to_a_deadline_moves_it_by_whole_working_days() -> None:
    friday_deadline = end_of(2026, 11, 27)
    assert PLAIN.add_working_time(friday_deadline, timedelta(days=1)) == end_of(2026, 11, 30)
    assert PLAIN.add_working_time(friday_deadline, timedelta(days=2)) == end_of(2026, 12, 1)


def test_adding_working_time_skips_non_working_days() -> None:
    assert PLAIN.add_working_time(local(2026, 11, 27, 20), timedelta(hours=6)) == local(2026, 11, 30, 2)
    assert PLAIN.add_working_time(local(2026, 11, 28, 9), timedelta()) == local(2026, 11, 28, 9)


def test_working_days_left_is_fractional_and_negative_once_passed() -> None:
    deadline = end_of(2026, 11, 30)  # Monday
    assert PLAIN.working_days_left(local(2026, 11, 27, 12), deadline) == pytest.approx(1.5)
    assert PLAIN.working_days_left(local(2026, 12, 1, 12), deadline) == pytest.approx(-0.5)


def test_example_calendar_loads_with_its_make_up_days(cn2026: WorkingCalendar) -> None:
    assert cn2026.tz == SHANGHAI
    assert cn2026.is_working_day(date(2026, 1, 4))  # a make-up Sunday
    assert not cn2026.is_working_day(date(2026, 1, 1))
    assert not cn2026.is_working_day(date(2026, 10, 7))
    assert len(cn2026.makeup_workdays) == 6


def test_calendar_file_errors_name_the_line_and_the_value() -> None:
    text = "timezone: Asia/Shanghai\nholidays:\n  - 2026-01-01\n  - 2026-13-01\n"
    with pytest.raises(InvalidArgument) as caught:
        parse_calendar(text, source="cal.yaml")
    error = caught.value
    assert error.reason == "CALENDAR_INVALID"
    assert "cal.yaml" in error.message
    assert error.violations[0].field == "holidays[1]"
    assert "line 4" in error.violations[0].description
    assert "2026-13-01" in error.violations[0].description


@pytest.mark.parametrize(
    ("text", "field", "mentions"),
    [
        ("timezone: Mars/Olympus\n", "timezone", "Mars/Olympus"),
        ("holiday:\n  - 2026-01-01\n", "holiday", "unknown key"),
        ("makeup_workdays:\n  - 2026-01-05\n", "makeup_workdays", "Monday"),
        ("holidays: [2026-01-04]\nmakeup_workdays: [2026-01-04]\n", "makeup_workdays", "also listed"),
        ("holidays: 2026-01-01\n", "holidays", "expected a list"),
    ],
)
def test_calendar_file_mistakes_are_each_explained(text: str, field: str, mentions: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_calendar(text)
    (violation,) = caught.value.violations
    assert violation.field == field
    assert mentions in violation.description
    assert "line " in violation.description


def test_calendar_file_that_is_not_yaml_or_missing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        parse_calendar("holidays: [2026-01-01\n")
    with pytest.raises(NotFound):
        load_calendar(tmp_path / "absent.yaml")


def test_empty_calendar_file_means_weekdays_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_calendar(path) == WorkingCalendar()


moments = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(SHANGHAI))


# No per-example deadline: on a busy machine reading the calendar file can take longer than Hypothesis's default.
@settings(deadline=None)
@given(start=moments, n=st.integers(min_value=1, max_value=40))
def test_every_deadline_ends_a_working_day_with_exactly_n_working_days_after_the_start_date(
    start: datetime, n: int
) -> None:
    calendar = load_calendar(EXAMPLE)
    deadline = calendar.add_working_days(start, n)
    local_deadline = deadline.astimezone(SHANGHAI)
    assert calendar.is_working_day(local_deadline.date())
    assert local_deadline.time() == datetime.max.time()
    days = (local_deadline.date() - start.date()).days
    between = [start.date() + timedelta(days=i) for i in range(1, days + 1)]
    assert sum(calendar.is_working_day(d) for d in between) == n


@settings(deadline=None)
@given(start=moments, hours=st.integers(min_value=0, max_value=24 * 30))
def test_adding_working_time_then_measuring_it_gives_it_back(start: datetime, hours: int) -> None:
    calendar = load_calendar(EXAMPLE)
    end = calendar.add_working_time(start, timedelta(hours=hours))
    assert calendar.working_time_between(start, end) == timedelta(hours=hours)
