"""Times as people read and type them: local to the hub's `time_zone` (default Beijing time), zone shown.

Storage, the wire and the access log keep microseconds since the epoch in UTC. Only the edges
(console, CLI) convert, here, in one way: a shown time always names its zone ("2026-12-16 23:59
(UTC+8)"), a typed time without an offset is local, and a typed date that ends a window
(``--valid-until 2026-12-31``, a filter's "to") means the end of that local day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from exchange.errors import FieldViolation, InvalidArgument

DEFAULT_ZONE = "Asia/Shanghai"
_LAST_INSTANT = time(23, 59, 59, 999999)
_zone = ZoneInfo(DEFAULT_ZONE)


def configure(name: str) -> None:
    """Use the IANA zone `name` for everything shown and typed (the hub's `time_zone` setting)."""
    global _zone
    _zone = ZoneInfo(name or DEFAULT_ZONE)


def zone() -> ZoneInfo:
    return _zone


def offset_label(moment: datetime | None = None) -> str:
    """The zone as an offset people recognise: UTC+8, UTC-3:30, UTC."""
    offset = (moment or datetime.now(UTC)).astimezone(_zone).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local(time_us: int) -> datetime:
    """A stored time (UTC microseconds) as an aware local datetime."""
    return datetime.fromtimestamp(time_us / 1e6, UTC).astimezone(_zone)


def show(value: int | datetime | None, *, seconds: bool = False, empty: str = "—") -> str:
    """A stored time (UTC microseconds or an aware datetime) for a person: ``2026-12-16 23:59 (UTC+8)``.

    `empty` for 0 or None (no time).
    """
    if not value:
        return empty
    moment = value.astimezone(_zone) if isinstance(value, datetime) else local(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" ({offset_label(moment)})"


def end_of_day(day: date) -> datetime:
    """The last instant (23:59:59.999999 local) of `day`, aware."""
    return datetime.combine(day, _LAST_INSTANT, tzinfo=_zone)


def parse(text: str, name: str, *, end_of_date: bool = False) -> int:
    """A typed time in UTC microseconds; 0 for ''.

    ``2026-12-31`` is the start of that local day, or its last instant when `end_of_date`
    (a validity or a window that runs *until* a date includes the whole day). A time without an
    offset is local; ``2026-12-31T08:00+00:00`` keeps its own offset. `name` is the option or field
    named in the refusal.
    """
    text = text.strip()
    if not text:
        return 0
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = end_of_day(day) if end_of_date else datetime.combine(day, time(), tzinfo=_zone)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            f"{name}: {text[:40]!r} is not a date or time; write 2026-12-31 or 2026-12-31T14:30 "
            f"(local time, {_zone.key}) or add an offset like +08:00",
            reason="BAD_TIME",
            violations=[FieldViolation(name, "expected YYYY-MM-DD or an ISO 8601 time")],
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone)
    return int(moment.timestamp() * 1_000_000)
