"""Key formats of a dataset's key field: validation with actionable messages, and demo generators."""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta
from enum import StrEnum

from stdnum.cn import ric, uscc
from stdnum.iso7064 import mod_37_36

from exchange.errors import InvalidArgument

MAX_KEY_LENGTH = 256
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LICENCE_PREFIX = "1.2.156.3005.2"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# str.isdigit() also accepts superscripts and other scripts' digits, which the check-digit code cannot read.
_DIGITS = frozenset("0123456789")


class KeyFormat(StrEnum):
    """How the value of a dataset's key field is written."""

    USCC = "uscc"
    RESIDENT_ID = "resident_id"
    LICENCE_ID = "licence_id"
    FREE_TEXT = "free_text"


def _malformed(fmt: KeyFormat, value: str, problem: str, reason: str = "MALFORMED_KEY") -> InvalidArgument:
    """Build the error for a key that does not match its format."""
    shown = value if len(value) <= 64 else value[:61] + "..."
    return InvalidArgument(
        f"key {shown!r} is not a valid {fmt.value}: {problem}",
        reason=reason,
        metadata={"key_format": fmt.value},
    )


def _control_character(value: str) -> int | None:
    """Return the index of the first control character, or None."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) == "Cc":
            return i
    return None


def _check_length(fmt: KeyFormat, value: str, expected: int) -> None:
    if len(value) != expected:
        raise _malformed(fmt, value, f"wrong length {len(value)}, expected {expected}")


def _validate_uscc(value: str) -> str:
    fmt = KeyFormat.USCC
    _check_length(fmt, value, 18)
    for i, ch in enumerate(value[:8]):
        if ch not in _DIGITS:
            raise _malformed(fmt, value, f"character {ch!r} at position {i + 1} must be a digit")
    for i, ch in enumerate(value[8:], start=8):
        if ch not in USCC_ALPHABET:
            raise _malformed(fmt, value, f"character {ch!r} at position {i + 1} not allowed (alphabet {USCC_ALPHABET})")
    expected = uscc.calc_check_digit(value[:17])
    if value[-1] != expected:
        raise _malformed(fmt, value, f"check character is {value[-1]!r} but the digits give {expected!r}")
    return value


def _validate_resident_id(value: str) -> str:
    fmt = KeyFormat.RESIDENT_ID
    _check_length(fmt, value, 18)
    for i, ch in enumerate(value[:17]):
        if ch not in _DIGITS:
            raise _malformed(fmt, value, f"character {ch!r} at position {i + 1} must be a digit")
    if not (value[17] in _DIGITS or value[17] == "X"):
        raise _malformed(fmt, value, f"check character {value[17]!r} not allowed (digit or 'X')")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise _malformed(fmt, value, f"birth date {value[6:14]!r} is not a calendar date (YYYYMMDD)") from None
    if birth.year < 1800:
        raise _malformed(fmt, value, f"birth year {birth.year} is before 1800")
    expected = ric.calc_check_digit(value)
    if value[-1] != expected:
        raise _malformed(fmt, value, f"check character is {value[-1]!r} but the digits give {expected!r}")
    return value


def licence_check_character(type_code: str, issuer: str, serial: str, version: str) -> str:
    """Return the GB/T 36904 check character (ISO 7064 MOD 37,36) of an identifier's parts."""
    return mod_37_36.calc_check_digit(type_code + issuer + serial + version)


def _validate_licence_id(value: str) -> str:
    fmt = KeyFormat.LICENCE_ID
    layout = f"{LICENCE_PREFIX}.<type code>.<issuer USCC>.<serial>.<version>.<check>"
    if not value.startswith(LICENCE_PREFIX + "."):
        raise _malformed(fmt, value, f"must start with {LICENCE_PREFIX + '.'!r} (layout {layout})")
    parts = value[len(LICENCE_PREFIX) + 1 :].split(".")
    if len(parts) != 5:
        raise _malformed(fmt, value, f"has {len(parts)} parts after the prefix, expected 5 ({layout})")
    type_code, issuer, serial, version, check = parts
    if len(type_code) != 21 or any(ch not in _ALNUM for ch in type_code):
        raise _malformed(
            fmt, value, f"type code {type_code!r} must be 21 letters/digits (ministry USCC + 3 characters)"
        )
    if not uscc.is_valid(type_code[:18]):
        raise _malformed(fmt, value, f"type code {type_code!r} does not start with a valid USCC")
    try:
        _validate_uscc(issuer)
    except InvalidArgument as exc:
        raise _malformed(fmt, value, f"issuer part: {exc.message}") from None
    if not 1 <= len(serial) <= 32 or any(ch not in _ALNUM for ch in serial):
        raise _malformed(fmt, value, f"serial {serial!r} must be 1 to 32 letters/digits")
    if len(version) != 3 or not set(version) <= _DIGITS:
        raise _malformed(fmt, value, f"version {version!r} must be 3 digits")
    expected = licence_check_character(type_code, issuer, serial, version)
    if check != expected:
        raise _malformed(fmt, value, f"check character is {check!r} but the digits give {expected!r}")
    return value


def validate_key(fmt: KeyFormat, value: str) -> str:
    """Return the normalised key, or raise InvalidArgument saying what is wrong with it."""
    if len(value) > MAX_KEY_LENGTH:
        # Refuse before any other work: keys arrive from callers and may be huge.
        raise _malformed(fmt, value, f"too long ({len(value)} characters, at most {MAX_KEY_LENGTH})", "KEY_TOO_LONG")
    position = _control_character(value)
    if position is not None:
        raise _malformed(fmt, value, f"control character {value[position]!r} at position {position + 1}")
    value = value.strip()
    if not value:
        raise _malformed(fmt, value, "empty")
    if fmt is KeyFormat.FREE_TEXT:
        return value
    value = value.upper()
    if fmt is KeyFormat.USCC:
        return _validate_uscc(value)
    if fmt is KeyFormat.RESIDENT_ID:
        return _validate_resident_id(value)
    return _validate_licence_id(value)


def is_valid_key(fmt: KeyFormat, value: str) -> bool:
    """Return whether the value is a valid key of the format."""
    try:
        validate_key(fmt, value)
    except InvalidArgument:
        return False
    return True


def generate_uscc(rng: random.Random) -> str:
    """Return a valid unified social credit code drawn from rng (demo data)."""
    # Registration authority 9 (market regulation), type 1 (enterprise), then a region and an org code.
    region = rng.choice(["110105", "110108", "310115", "440305", "330106", "510107"])
    org = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    body = "91" + region + org
    return body + uscc.calc_check_digit(body)


def generate_resident_id(
    rng: random.Random,
    *,
    region: str = "110105",
    birth: date | None = None,
    male: bool | None = None,
) -> str:
    """Return a valid resident identity number drawn from rng (demo data)."""
    if len(region) != 6 or not set(region) <= _DIGITS:
        raise InvalidArgument(f"region {region!r} must be 6 digits", reason="INVALID_REGION_CODE")
    if birth is None:
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    if male is None:
        male = rng.random() < 0.5
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def generate_licence_id(
    rng: random.Random,
    *,
    type_code: str,
    issuer_uscc: str,
    serial: str | None = None,
    version: str = "001",
) -> str:
    """Return a valid GB/T 36904 electronic licence identifier (demo data)."""
    if serial is None:
        serial = "".join(rng.choice("0123456789") for _ in range(10))
    # validate_key upper-cases the identifier, so the check character must be computed on upper case too.
    parts = (type_code.upper(), issuer_uscc.upper(), serial.upper(), version)
    # A bad part gets a placeholder check so validate_key below names the part rather than crashing.
    check = licence_check_character(*parts) if all(c in _ALNUM for c in "".join(parts)) else "0"
    identifier = f"{LICENCE_PREFIX}.{'.'.join(parts)}.{check}"
    # Refuse bad parts here rather than hand out an identifier that later fails validation.
    return validate_key(KeyFormat.LICENCE_ID, identifier)
