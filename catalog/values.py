"""Dates and timestamps as text: the one ISO 8601 reader for documents, upstream data and row filters.

The rule for a time written without an offset (``2025-01-02T08:00:00``): in a column whose type has a
zone (``timestamp[us, tz=Asia/Shanghai]``) it is local time in that zone, so 08:00 there (00:00 UTC).
A time with an offset (``+08:00``, ``Z``) names its instant; in a column without a zone it is stored as
its UTC wall-clock time, as Arrow stores it. The hub's document check, the adapters' sources and their
row filters all read through here, so one text never means two instants.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?")
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")


def known_time_zone(name: str) -> bool:
    """Return whether a column's zone is an IANA zone name or a +HH:MM offset that both Arrow and Python read."""
    if _OFFSET.fullmatch(name):
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_zone(name: str) -> tzinfo:
    """Return the tzinfo for an IANA zone name or a +HH:MM offset."""
    if _OFFSET.fullmatch(name):
        return datetime.fromisoformat(f"2000-01-01T00:00:00{name}").tzinfo or UTC
    return ZoneInfo(name)


def parse_date(text: str) -> date:
    """Read a date written ``YYYY-MM-DD``; ValueError says what was expected."""
    if not _DATE.fullmatch(text):
        raise ValueError('expected a date "YYYY-MM-DD"')
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("expected a calendar date") from None


def parse_timestamp(text: str, arrow_type: pa.TimestampType) -> datetime:
    """Read an ISO 8601 timestamp for a column of arrow_type, by the module's rule for a missing offset.

    Accepted: ``YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]`` with an optional ``Z`` or ``+HH:MM`` offset. The
    result carries a zone for a zoned column (the column's own when the text has no offset) and none for a
    column without a zone (a given offset converted to UTC). ValueError says what was expected.
    """
    try:
        if not _TIMESTAMP.fullmatch(text):
            raise ValueError(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected an ISO-8601 timestamp") from None
    if arrow_type.tz:
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=time_zone(arrow_type.tz))
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
