"""RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of every JSON we sign or hash.

Python's ``json.dumps(sort_keys=True)`` is not it: it sorts keys by code point where JCS sorts by UTF-16
code unit (they differ outside the Basic Multilingual Plane), and it prints numbers its own way
(``1e-07``, ``-0.0``, ``1.0``) where JCS prints them as ECMAScript does (``1e-7``, ``0``, ``1``). Any
other language's JCS library must produce the same bytes, so verifiers need not run our code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from exchange.errors import InvalidArgument

MAX_SAFE_INTEGER = 2**53
"""Integers beyond this lose precision as IEEE doubles; RFC 8785 (section 6) says to send them as strings."""

REASON = "DOCUMENT_NOT_CANONICAL"

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 bytes of a JSON-shaped value (dict with str keys, list, str, int, float, bool, None)."""
    parts: list[str] = []
    _write(value, parts, "document")
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        what = f"a string holds a lone surrogate ({exc}); JSON text must be valid Unicode"
        raise InvalidArgument(what, reason=REASON) from exc


def _write(value: Any, out: list[str], path: str) -> None:
    """Append the canonical text of value; ``path`` names where a refused value sits."""
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(_integer(value, path))
    elif isinstance(value, float):
        out.append(number(value, path))
    elif isinstance(value, Mapping):
        _object(value, out, path)
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, f"{path}[{i}]")
        out.append("]")
    else:
        raise InvalidArgument(
            f"{path} is a {type(value).__name__}, not a JSON value; sources must hand over JSON-shaped values",
            reason=REASON,
        )


def _object(value: Mapping[Any, Any], out: list[str], path: str) -> None:
    """Members sorted by the UTF-16 code units of their names (RFC 8785 section 3.2.3)."""
    for name in value:
        if not isinstance(name, str):
            raise InvalidArgument(f"{path} has a member name {name!r} that is not a string", reason=REASON)
    out.append("{")
    for i, name in enumerate(sorted(value, key=utf16_sort_key)):
        if i:
            out.append(",")
        out.append(_string(name))
        out.append(":")
        _write(value[name], out, f"{path}.{name}")
    out.append("}")


def utf16_sort_key(name: str) -> bytes:
    """Big-endian UTF-16 bytes compare exactly as UTF-16 code units do."""
    return name.encode("utf-16-be", errors="surrogatepass")


def _string(text: str) -> str:
    """A JSON string as ECMAScript's JSON.stringify writes it: only '"', '\\' and controls escaped."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _integer(value: int, path: str) -> str:
    """An integer is an IEEE double in JSON: exact only up to 2^53, so larger ones are refused."""
    if abs(value) > MAX_SAFE_INTEGER:
        raise InvalidArgument(
            f"{path} is the integer {value}, beyond 2^53 where JSON numbers lose precision; "
            "send it as a string (RFC 8785 section 6)",
            reason=REASON,
        )
    return str(value)


def number(value: float, path: str = "number") -> str:
    """ECMAScript Number::toString of a double: shortest round-trip digits, exponent from 1e21 and below 1e-6."""
    if not math.isfinite(value):
        raise InvalidArgument(f"{path} is {value!r}; signed JSON carries only finite numbers", reason=REASON)
    if value == 0:
        return "0"  # -0 too
    sign = "-" if value < 0 else ""
    digits, n = _shortest_digits(abs(value))
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exponent = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"
    return sign + text


def _shortest_digits(value: float) -> tuple[str, int]:
    """(digits, n) with value = 0.digits x 10^n, digits the shortest that round-trip (Python's repr)."""
    mantissa, _, exp_text = repr(value).partition("e")
    exponent = int(exp_text) if exp_text else 0
    whole, _, fraction = mantissa.partition(".")
    raw = whole + fraction
    stripped = raw.lstrip("0")
    leading_zeros = len(raw) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    return digits, len(whole) - leading_zeros + exponent


def parse(data: bytes | str, what: str = "JSON") -> Any:
    """Parse JSON that is meant to be canonical: duplicate member names and NaN/Infinity are refused."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, item in pairs:
            if name in result:
                raise ValueError(f"duplicate member name {name!r}")
            result[name] = item
        return result

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(data, object_pairs_hook=no_duplicates, parse_constant=no_constant)


def is_canonical(data: bytes) -> bool:
    """Whether data is exactly the JCS form of the JSON it holds."""
    try:
        return canonicalize(parse(data)) == data
    except (ValueError, InvalidArgument):
        return False
