"""The working-day calendar that statutory time limits are counted on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from catalog.spec_reader import MISSING, SpecReader
from catalog.yaml_io import at_lines, load_located_text
from exchange.errors import FieldViolation, InvalidArgument, NotFound, quote

DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")
_ONE_DAY = timedelta(days=1)
_LAST_INSTANT = time(23, 59, 59, 999999)


def require_aware(value: datetime, name: str) -> None:
    """Refuse naive datetimes: a deadline without a time zone means nothing."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(
            f"{name} must carry a time zone (got naive {value.isoformat()})",
            reason="NAIVE_DATETIME",
            violations=[FieldViolation(name, "a timezone-aware datetime is required")],
        )


@dataclass(frozen=True)
class WorkingCalendar:
    """Which local dates are working days: Mon-Fri minus holidays, plus make-up weekend days.

    `years` are the years whose holiday arrangement is known (a year outside them counts Mon-Fri only);
    `sources` name the notices the data comes from.
    """

    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    tz: ZoneInfo = field(default=DEFAULT_TIMEZONE)
    years: frozenset[int] = frozenset()
    sources: tuple[str, ...] = ()

    def covers(self, year: int) -> bool:
        """Whether the holiday arrangement of `year` is known."""
        return year in self.years

    def overlaid(self, other: WorkingCalendar) -> WorkingCalendar:
        """This calendar with `other` laid over it: for every year `other` covers, `other`'s days replace ours."""
        if other.tz.key != self.tz.key:
            raise InvalidArgument(
                f"calendars in different time zones cannot be combined ({self.tz.key}, {other.tz.key})",
                reason="CALENDAR_INVALID",
            )
        kept = {d for d in self.holidays if d.year not in other.years}
        kept_makeup = {d for d in self.makeup_workdays if d.year not in other.years}
        return WorkingCalendar(
            holidays=frozenset(kept | other.holidays),
            makeup_workdays=frozenset(kept_makeup | other.makeup_workdays),
            tz=self.tz,
            years=self.years | other.years,
            sources=(*self.sources, *(s for s in other.sources if s not in self.sources)),
        )

    def is_working_day(self, d: date) -> bool:
        """Whether the local date ``d`` is a working day."""
        if d in self.makeup_workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def local_date(self, moment: datetime) -> date:
        """The calendar date of ``moment`` in this calendar's time zone."""
        require_aware(moment, "moment")
        return moment.astimezone(self.tz).date()

    def day_bounds(self, d: date) -> tuple[datetime, datetime]:
        """Start of local date ``d`` and start of the next day, both in UTC."""
        # Arithmetic is done in UTC: subtracting two datetimes that share one ZoneInfo
        # ignores a DST change between them.
        start = datetime.combine(d, time(), tzinfo=self.tz).astimezone(UTC)
        end = datetime.combine(d + _ONE_DAY, time(), tzinfo=self.tz).astimezone(UTC)
        return start, end

    def end_of_day(self, d: date) -> datetime:
        """The last instant (23:59:59.999999 local) of date ``d``, in UTC."""
        return datetime.combine(d, _LAST_INSTANT, tzinfo=self.tz).astimezone(UTC)

    def working_days_from(self, d: date) -> Iterator[date]:
        """Working days on or after ``d``, in order."""
        while True:
            if self.is_working_day(d):
                yield d
            d += _ONE_DAY

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Deadline ``n`` working days after ``start``: the end of the n-th working day after its date."""
        require_aware(start, "start")
        if n < 0:
            raise InvalidArgument(
                f"a time limit counts forward; got {n} working days",
                reason="NEGATIVE_WORKING_DAYS",
                violations=[FieldViolation("n", "must be zero or more")],
            )
        day = self.local_date(start)
        if n == 0:
            return self.end_of_day(day)
        days = self.working_days_from(day + _ONE_DAY)
        for _ in range(n - 1):
            next(days)
        return self.end_of_day(next(days))

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Time from ``a`` to ``b`` that falls on working days; negative when ``b`` is before ``a``."""
        require_aware(a, "a")
        require_aware(b, "b")
        if b < a:
            return -self.working_time_between(b, a)
        a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta()
        day = self.local_date(a)
        last = self.local_date(b)
        while day <= last:
            if self.is_working_day(day):
                day_start, day_end = self.day_bounds(day)
                overlap = min(b_utc, day_end) - max(a_utc, day_start)
                if overlap > timedelta():
                    total += overlap
            day += _ONE_DAY
        return total

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when ``duration`` of working time has passed after ``start`` (in UTC)."""
        require_aware(start, "start")
        if duration < timedelta():
            raise InvalidArgument(
                f"working time to add must not be negative; got {duration}",
                reason="NEGATIVE_DURATION",
            )
        cursor = start.astimezone(UTC)
        if not duration:
            return cursor
        remaining = duration
        for day in self.working_days_from(self.local_date(start)):
            day_start, day_end = self.day_bounds(day)
            begin = max(cursor, day_start)
            available = day_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: working_days_from never ends")  # pragma: no cover  # pragma: no mutate

    def working_days_left(self, now: datetime, deadline: datetime) -> float:
        """Working days (fractional) from ``now`` until ``deadline``; negative once it has passed."""
        return self.working_time_between(now, deadline) / _ONE_DAY


CALENDAR_KEYS = ("timezone", "years", "source", "holidays", "makeup_workdays")


def parse_calendar(text: str, source: str = "<calendar>") -> WorkingCalendar:
    """A WorkingCalendar from YAML text: ``timezone``, ``years``, ``source``, ``holidays``, ``makeup_workdays``.

    Read with the catalog's SpecReader, so a mistake reads as in any spec, each after the line it is on.
    """
    data, lines = load_located_text(text, source, reason="CALENDAR_INVALID")
    if data is None:
        return WorkingCalendar()
    read: list[FieldViolation] = []
    r = SpecReader(data, "", CALENDAR_KEYS, read)
    zone = r.text("timezone", required=False)
    tz = DEFAULT_TIMEZONE
    if zone is not None:
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            r.problem("timezone", f"unknown time zone {quote(zone)}")
    declared = set(r.integers("years", 1900, 2999)) if r.raw("years", False) is not MISSING else None
    notice = (r.text("source", required=False) or "").strip()
    holidays, makeup = r.days("holidays"), r.days("makeup_workdays")
    wrong = at_lines(read, lines)

    holiday_lines = [(d, lines.get(f"holidays[{i}]", 0)) for i, d in enumerate(holidays)]
    makeup_lines = [(d, lines.get(f"makeup_workdays[{i}]", 0)) for i, d in enumerate(makeup)]
    listed = holiday_lines + makeup_lines
    # Without `years`, a file covers the years of the dates it lists.
    years = declared if declared is not None else {d.year for d, _ in listed}
    for d, at in listed:
        if d.year not in years:
            wrong.append(FieldViolation("years", f"line {at}: {d} is outside the years the file declares"))
    for d, at in makeup_lines:
        if d in holidays:
            wrong.append(FieldViolation("makeup_workdays", f"line {at}: {d} is also listed as a holiday"))
        elif d.weekday() < 5:
            wrong.append(
                FieldViolation(
                    "makeup_workdays",
                    f"line {at}: {d} is a {d.strftime('%A')}, already a working day; "
                    "make-up days are Saturdays or Sundays",
                )
            )
    if wrong:
        raise InvalidArgument(f"{source} has {len(wrong)} error(s)", reason="CALENDAR_INVALID", violations=wrong)
    return WorkingCalendar(
        holidays=frozenset(holidays),
        makeup_workdays=frozenset(makeup),
        tz=tz,
        years=frozenset(years),
        sources=(notice,) if notice else (),
    )


def load_calendar(path: str | Path) -> WorkingCalendar:
    """Read a working-day calendar from a YAML file, or every `*.yaml` of a directory laid over each other."""
    file = Path(path)
    if file.is_dir():
        files = sorted(file.glob("*.yaml"))
        return combined(parse_calendar(f.read_text(encoding="utf-8"), source=str(f)) for f in files)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFound(f"calendar file {file} does not exist", reason="CALENDAR_NOT_FOUND") from exc
    return parse_calendar(text, source=str(file))


def combined(calendars: Iterable[WorkingCalendar]) -> WorkingCalendar:
    """Calendars laid over each other in order (a later one wins for the years it covers)."""
    result: WorkingCalendar | None = None
    for calendar in calendars:
        result = calendar if result is None else result.overlaid(calendar)
    return result or WorkingCalendar()


def shipped_calendar() -> WorkingCalendar:
    """The State Council's holiday arrangements shipped with the hub (exchange/cases/calendars/)."""
    folder = resources.files("exchange.cases.calendars")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return combined(parse_calendar(f.read_text(encoding="utf-8"), source=f"shipped {f.name}") for f in files)


def hub_calendar(extra: str | Path | None, *, shipped: bool = True) -> WorkingCalendar:
    """The hub's calendar: the shipped years (unless turned off) with the operator's file or folder laid over."""
    layers = [shipped_calendar()] if shipped else []
    if extra:
        layers.append(load_calendar(extra))
    return combined(layers)


def uncovered_years(calendar: WorkingCalendar, today: date, *, ahead_days: int = 90) -> list[int]:
    """Years from `today` to `ahead_days` later whose holidays the calendar does not know."""
    return [y for y in range(today.year, (today + timedelta(days=ahead_days)).year + 1) if not calendar.covers(y)]
