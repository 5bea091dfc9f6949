"""Beijing time at the edges: what people read and type is local with its zone; storage stays UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from exchange import localtime
from exchange.cases.calendar import WorkingCalendar
from exchange.config import load_settings
from exchange.errors import InvalidArgument
from exchange.policy import Grant

BEIJING = timezone(timedelta(hours=8))


def us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@pytest.fixture(autouse=True)
def beijing():
    localtime.configure("Asia/Shanghai")
    yield
    localtime.configure("Asia/Shanghai")


def test_a_grant_valid_until_a_date_is_live_to_the_last_minute_of_that_beijing_day():
    until = localtime.parse("2026-12-31", "--valid-until", end_of_date=True)
    grant = Grant("g-1", "SAMR", "business_licence", ("name",), valid_until_us=until)
    assert grant.live_at(us(datetime(2026, 12, 31, 23, 59, tzinfo=BEIJING)))
    assert grant.live_at(us(datetime(2026, 12, 31, 23, 59, 59, 999_000, tzinfo=BEIJING)))
    assert not grant.live_at(us(datetime(2027, 1, 1, 0, 0, tzinfo=BEIJING)))
    assert localtime.show(until) == "2026-12-31 23:59 (UTC+8)"


def test_a_date_that_starts_a_window_is_the_start_of_that_beijing_day():
    assert localtime.parse("2026-12-31", "--from") == us(datetime(2026, 12, 31, tzinfo=BEIJING))


def test_a_typed_time_without_an_offset_is_beijing_time_and_an_offset_is_honoured():
    assert localtime.parse("2026-12-31T08:00", "--from") == us(datetime(2026, 12, 31, 0, 0, tzinfo=UTC))
    assert localtime.parse("2026-12-31T08:00+00:00", "--from") == us(datetime(2026, 12, 31, 8, 0, tzinfo=UTC))


def test_a_time_that_cannot_be_read_names_the_option_and_the_zone():
    with pytest.raises(InvalidArgument) as wrong:
        localtime.parse("31/12/2026", "--until")
    assert wrong.value.message.startswith("--until:") and "Asia/Shanghai" in wrong.value.message


def test_a_stored_utc_time_is_shown_in_beijing_time_with_its_zone():
    assert localtime.show(us(datetime(2026, 12, 16, 15, 59, 59, tzinfo=UTC))) == "2026-12-16 23:59 (UTC+8)"
    assert localtime.show(0) == "—"


def test_a_deadline_ends_at_23_59_beijing_on_the_last_working_day():
    calendar = WorkingCalendar()  # Monday 2026-12-14 10:00 + 2 working days = Wednesday 2026-12-16
    deadline = calendar.add_working_days(datetime(2026, 12, 14, 10, 0, tzinfo=BEIJING), 2)
    assert localtime.show(deadline) == "2026-12-16 23:59 (UTC+8)"
    assert deadline.astimezone(UTC) == datetime(2026, 12, 16, 15, 59, 59, 999_999, tzinfo=UTC)


def test_another_zone_is_one_setting_away():
    localtime.configure("Europe/Berlin")
    assert localtime.show(us(datetime(2026, 12, 16, 15, 0, tzinfo=UTC))) == "2026-12-16 16:00 (UTC+1)"


def test_the_time_zone_setting_is_checked_at_start_up(tmp_path):
    assert load_settings(environ={}, data_dir=tmp_path).time_zone == "Asia/Shanghai"
    with pytest.raises(InvalidArgument) as wrong:
        load_settings(environ={"EXCHANGE_TIME_ZONE": "Beijing"}, data_dir=tmp_path)
    assert [v.field for v in wrong.value.violations] == ["time_zone"]


def test_a_licence_valid_until_a_date_is_valid_through_that_whole_beijing_day():
    from exchange.cases.materials import _date_end_us

    end = _date_end_us("2026-12-31")
    assert us(datetime(2026, 12, 31, 23, 59, tzinfo=BEIJING)) < end
    assert end < us(datetime(2027, 1, 1, 0, 0, tzinfo=BEIJING))
