"""One limit per value: the longest text and the characters accepted for everything that reaches storage or the log.

The storage columns take their sizes from here (`exchange.storage.tables`), the hub's edge checks requests and
token claims against the same numbers, and the access-log recorder cuts what it builds itself to them, so a
value can never be accepted by the code and refused by a column (PostgreSQL enforces VARCHAR lengths and
refuses NUL; SQLite enforces neither, so the check is here, the same on both).

Two classes of characters:

- identifiers (codes, ids, keys, officer ids): printable characters only (`str.isprintable`, which also
  refuses format characters such as bidirectional overrides, and unpaired surrogates);
- text (messages, comments, justifications, specs): anything but control characters, except tab and newlines.

Imports nothing but the standard library and `exchange.errors`: the client, the adapters and the hub use it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from exchange.errors import FieldViolation, InvalidArgument

TOO_LONG = "VALUE_TOO_LONG"
INVALID_CHARACTERS = "VALUE_INVALID_CHARACTERS"

# Characters shown of a refused value: enough to recognise it, never enough to smuggle anything.
SHOWN_PREFIX = 16
_REPLACEMENT = "\ufffd"
# C0 and C1 controls (but tab, line feed, carriage return) and unpaired surrogates.
_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class Characters(enum.Enum):
    IDENTIFIER = "only printable characters are accepted (no control or format characters)"
    TEXT = "no control characters are accepted but tab and newlines"


@dataclass(frozen=True)
class Limit:
    """The longest value (in characters) and the characters a value may hold."""

    max_length: int
    characters: Characters = Characters.IDENTIFIER

    def problem(self, value: str) -> str | None:
        """The reason code a value breaks this limit for, or None when it fits."""
        if len(value) > self.max_length:
            return TOO_LONG
        if value.isprintable():
            return None
        if self.characters is Characters.TEXT and _TEXT_REFUSED.search(value) is None:
            return None
        return INVALID_CHARACTERS

    def clean(self, value: str) -> str:
        """The value cut to the limit with refused characters replaced (for text the hub builds itself)."""
        if len(value) > self.max_length:
            value = value[: self.max_length]
        if value.isprintable():
            return value
        if self.characters is Characters.TEXT:
            return _TEXT_REFUSED.sub(_REPLACEMENT, value)
        return "".join(c if c.isprintable() else _REPLACEMENT for c in value)


# --- identifiers ----------------------------------------------------------------------------------
DEPARTMENT_CODE = Limit(32)
DATASET_CODE = Limit(64)
DATASET_VERSION = Limit(16)
SERVICE_ITEM_CODE = Limit(64)
NATIONAL_ITEM_CODE = Limit(64)
FIELD_NAME = Limit(64)
CASE_ID = Limit(40)
GRANT_ID = Limit(40)
ACCESS_REQUEST_ID = Limit(40)
REQUEST_ID = Limit(64)
OFFICER_ID = Limit(128)
# A lookup key and the subject (whose data) it names: resident ids, credit codes, licence numbers.
KEY = Limit(256)
SUBJECT_ID = Limit(256)
# The applicant or another party of a case: a resident id or a unified social credit code, with room to spare.
APPLICANT_ID = Limit(64)
# How a party relates to a case ("legal_representative", "premises_owner", ...).
PARTY_RELATION = Limit(32)
KID = Limit(64)
TOKEN_ID = Limit(128)
ACTION = Limit(64)
REASON_CODE = Limit(64)
OUTCOME = Limit(64)
# Role names, comma-separated.
ROLE_LIST = Limit(200)
DIGEST = Limit(64)
STATUS = Limit(16)
# What a supervision event is at: "reminder", "red:<deadline in µs>", ... (exchange.supervision).
SUPERVISION_STAGE = Limit(40)
DECISION = Limit(8)
# A console client's network address (IPv6 with zone at most).
ADDRESS = Limit(64)
CASE_STATE = Limit(24)
USERNAME = Limit(64)
ALGORITHM = Limit(16)
ENDPOINT = Limit(300)
REGION_CODE = Limit(16)
# "DEPARTMENT/officer" recorded by administrative changes: must hold 32 + 1 + 128 characters.
ACTOR = Limit(200)

# --- text -----------------------------------------------------------------------------------------
NAME = Limit(200, Characters.TEXT)
PARTY_NAME = Limit(100, Characters.TEXT)
TITLE = Limit(500, Characters.TEXT)
LOG_MESSAGE = Limit(500, Characters.TEXT)
NOTE = Limit(500, Characters.TEXT)
DETAIL_KEY = Limit(64)
DETAIL_VALUE = Limit(500, Characters.TEXT)
SEARCH_QUERY = Limit(200, Characters.TEXT)
SCAN_FILTER = Limit(4000, Characters.TEXT)
COMMENT = Limit(2000, Characters.TEXT)
REASON_TEXT = Limit(2000, Characters.TEXT)
LEGAL_BASIS = Limit(2000, Characters.TEXT)
JUSTIFICATION = Limit(4000, Characters.TEXT)
DESCRIPTION = Limit(4000, Characters.TEXT)
PUBLIC_KEY_PEM = Limit(8192, Characters.TEXT)
SPEC_TEXT = Limit(1 << 20, Characters.TEXT)
# Any other string a request carries.
OTHER_TEXT = Limit(2000, Characters.TEXT)

# --- numbers and counts ---------------------------------------------------------------------------
PAGE_SIZE_MAX = 1000
# Items of one repeated string or number field (field names, columns, keywords...).
LIST_ITEMS_MAX = 1024


def shown(value: str) -> str:
    """A short, sanitised prefix of a caller's value, safe to put in a message or a log."""
    prefix = Limit(SHOWN_PREFIX).clean(value)
    return repr(prefix + ("..." if len(value) > SHOWN_PREFIX else ""))


def violation(field: str, value: str, limit: Limit) -> InvalidArgument | None:
    """The error for `value` of `field` breaking `limit`, naming the field and the limit; None when it fits."""
    reason = limit.problem(value)
    if reason is None:
        return None
    if reason == TOO_LONG:
        description = f"at most {limit.max_length} characters, got {len(value)}"
    else:
        description = limit.characters.value
    return InvalidArgument(
        f"{field} is refused: {description} (value starts {shown(value)})",
        reason=reason,
        violations=[FieldViolation(field, description)],
    )


def check(field: str, value: str, limit: Limit) -> str:
    """Return `value` when it fits `limit`; raise InvalidArgument naming `field` otherwise."""
    error = violation(field, value, limit)
    if error is not None:
        raise error
    return value


def check_text_tree(data: Any, path: str = "", limit: Limit = SPEC_TEXT) -> None:
    """Refuse the first string (key or value) anywhere in parsed data (a spec) that `limit` refuses.

    A YAML escape such as "\\0" puts a NUL into a parsed value that the raw text did not show; names and
    descriptions land in text columns, where PostgreSQL refuses NUL.
    """
    for where, value in _strings_in(data, path):
        error = violation(where or "spec", value, limit)
        if error is not None:
            raise error


def _strings_in(data: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield where, key
            yield from _strings_in(value, where)
    elif isinstance(data, list | tuple):
        for i, item in enumerate(data):
            yield from _strings_in(item, f"{path}[{i}]")
