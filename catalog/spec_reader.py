"""The one validating reader for YAML/JSON-shaped specs: catalog entries, their schemas, adapter configurations.

A `SpecReader` reads one mapping at a path (``datasets[1].source``) and notes a `FieldViolation` for every
problem instead of stopping at the first, so a person fixing a file sees all of them at once. The same mistake
reads the same in every spec: an unknown key, a missing value, a value of the wrong type, each named by the
full path of the offending key.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Final, TypeVar

from catalog.values import parse_date
from exchange.errors import FieldViolation, InvalidArgument, quote

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class _Missing:
    """The marker for a key that is absent or null."""

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def kind_of(value: Any) -> str:
    """Name a YAML/JSON value's type for messages: null, boolean, integer, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def raise_if_any(out: list[FieldViolation], what: str, reason: str, name: Any = None) -> None:
    """Raise InvalidArgument(reason) listing every violation in out; nothing when out is empty."""
    if out:
        label = f" {name!r}" if isinstance(name, str) else ""
        raise InvalidArgument(
            f"{what}{label} has {len(out)} problem(s); fix them and submit again",
            reason=reason,
            violations=out,
        )


class SpecReader:
    """Reads typed values out of one mapping at a path, collecting a FieldViolation for each problem."""

    def __init__(self, data: Any, path: str, allowed: tuple[str, ...], out: list[FieldViolation]) -> None:
        self.out = out
        self.path = path
        self.ok = isinstance(data, Mapping)
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not self.ok:
            out.append(FieldViolation(path or "(top)", f"expected an object, found {kind_of(data)}"))
            return
        for key in self.data:
            if key not in allowed:
                self.problem(str(key), f"unknown key; allowed: {', '.join(allowed)}")

    def at(self, key: str) -> str:
        """The full path of key (``datasets[1].source.url``)."""
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, description: str) -> None:
        """Note a problem with the value at key."""
        self.out.append(FieldViolation(self.at(key), description))

    def raw(self, key: str, required: bool) -> Any:
        """The value at key as it is, or MISSING (noting "required" if it must be there)."""
        value = self.data.get(key, MISSING)
        if value is MISSING or value is None:
            if required and self.ok:
                self.problem(key, "required")
            return MISSING
        return value

    def text(self, key: str, *, required: bool = True, pattern: re.Pattern[str] | None = None) -> str | None:
        """A string; a required one may not be blank, and a pattern must match all of it."""
        value = self.raw(key, required)
        if value is MISSING:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML reads 110100 and 1.0 as numbers; codes and versions are text.
            self.problem(key, f'expected a string, found the number {value}; quote it ("{value}")')
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(key, f"expected a non-empty string, found {kind_of(value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(key, f"{quote(value)} does not match {pattern.pattern}")
            return None
        return value

    def enum(self, key: str, cls: type[E], default: E | None = None) -> E | None:
        """One of the values of a StrEnum; required unless there is a default."""
        value = self.raw(key, default is None)
        if value is MISSING:
            return default
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            self.problem(key, f"unknown value {quote(value)}; allowed: {allowed}")
            return None

    def optional_enum(self, key: str, cls: type[E]) -> E | None:
        """An enum value that may be left out (None)."""
        if self.raw(key, False) is MISSING:
            return None
        return self.enum(key, cls)

    def flag(self, key: str, default: bool) -> bool:
        """true or false."""
        value = self.raw(key, False)
        if value is MISSING:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, found {kind_of(value)}")
            return default
        return value

    def integer(self, key: str, low: int, high: int | None = None, *, required: bool = True) -> int | None:
        """A whole number in low..high (no upper bound when high is None)."""
        value = self.raw(key, required)
        if value is MISSING:
            return None
        problem = _not_an_integer(value, low, high)
        if problem:
            self.problem(key, problem)
            return None
        return int(value)

    def integers(self, key: str, low: int, high: int | None = None) -> tuple[int, ...]:
        """A list of whole numbers, each in low..high; () when left out."""
        value = self._list(key, "a list of integers")
        items: list[int] = []
        for i, item in enumerate(value or ()):
            problem = _not_an_integer(item, low, high)
            if problem:
                self.out.append(FieldViolation(f"{self.at(key)}[{i}]", problem))
            else:
                items.append(item)
        return tuple(items)

    def day(self, key: str, *, required: bool = False) -> datetime.date | None:
        """An ISO 8601 date (YAML's unquoted 2026-01-15 too); None when left out or wrong."""
        value = self.raw(key, required)
        if value is MISSING:
            return None
        found = _as_date(value)
        if found is None:
            self.problem(key, _NOT_A_DATE.format(quote(str(value))))
        return found

    def days(self, key: str) -> tuple[datetime.date, ...]:
        """A list of ISO 8601 dates; () when left out."""
        value = self._list(key, "a list of dates")
        items: list[datetime.date] = []
        for i, item in enumerate(value or ()):
            found = _as_date(item)
            if found is None:
                self.out.append(FieldViolation(f"{self.at(key)}[{i}]", _NOT_A_DATE.format(quote(str(item)))))
            else:
                items.append(found)
        return tuple(items)

    def number(self, key: str, default: float, low: float, high: float = math.inf) -> float:
        """A number (integer or decimal) in low..high (no upper bound by default); the default when left out."""
        value = self.raw(key, False)
        if value is MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            wanted = f"in {low:g}..{high:g}" if high < math.inf else f"of {low:g} or more"
            self.problem(key, f"expected a number {wanted}, found {quote(value)}")
            return default
        return float(value)

    def strings(self, key: str, *, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        """A list of strings, each matching pattern when one is given; () when left out."""
        value = self._list(key, "a list of strings")
        if value is None:
            return ()
        items: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or (pattern is not None and not pattern.fullmatch(item)):
                expected = f"a string matching {pattern.pattern}" if pattern else "a string"
                self.out.append(FieldViolation(f"{self.at(key)}[{i}]", f"expected {expected}, found {quote(item)}"))
            else:
                items.append(item)
        return tuple(items)

    def string_map(self, key: str, *, required: bool = True) -> dict[str, str]:
        """A mapping of names to non-empty strings; {} when left out."""
        value = self.raw(key, required)
        if value is MISSING:
            return {}
        if not isinstance(value, Mapping):
            self.problem(key, f"expected an object of names to strings, found {kind_of(value)}")
            return {}
        items: dict[str, str] = {}
        for name, item in value.items():
            if not isinstance(item, str) or not item.strip():
                self.problem(f"{key}.{name}", f"expected a non-empty string, found {kind_of(item)}")
            else:
                items[str(name)] = item
        return items

    def section(self, key: str, allowed: tuple[str, ...], *, required: bool = True) -> SpecReader | None:
        """A reader for the object at key; None when it is left out."""
        value = self.raw(key, required)
        if value is MISSING:
            return None
        return SpecReader(value, self.at(key), allowed, self.out)

    def objects(self, key: str, parse: Callable[[Any, str, list[FieldViolation]], T | None]) -> tuple[T, ...]:
        """A list of objects, each read by parse(item, its path, out); () when left out."""
        value = self._list(key, "a list")
        if value is None:
            return ()
        parsed = [parse(item, f"{self.at(key)}[{i}]", self.out) for i, item in enumerate(value)]
        return tuple(p for p in parsed if p is not None)

    def _list(self, key: str, expected: str) -> list[Any] | None:
        """The list at key; None when it is left out or is not a list (noted as a problem)."""
        value = self.raw(key, False)
        if value is MISSING:
            return None
        if not isinstance(value, list):
            self.problem(key, f"expected {expected}, found {kind_of(value)}")
            return None
        return value


_NOT_A_DATE = "expected a date such as 2026-01-15, found {}"


def _not_an_integer(value: Any, low: int, high: int | None) -> str:
    """What is wrong with value as a whole number in low..high; empty when nothing is."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value and (high is None or value <= high):
        return ""
    wanted = f"in {low}..{high}" if high is not None else f"of {low} or more"
    return f"expected an integer {wanted}, found {quote(value)}"


def _as_date(value: Any) -> datetime.date | None:
    """A date from YAML's date or ISO text; None for anything else."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value.strip())
        except ValueError:
            return None
    return None
