"""The access log entry and its canonical, versioned byte encoding (the Merkle leaf)."""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _quote
from types import MappingProxyType
from typing import Any, Literal

from catalog import limits
from exchange.audit.merkle import leaf_hash
from exchange.errors import (
    DataLoss,
    ExchangeError,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)

ENTRY_VERSION = b"exchange-access-log/v1\n"
_VERSION_FAMILY = b"exchange-access-log/"

Decision = Literal["allow", "deny"]


class EntryFormatError(DataLoss):
    """Stored bytes are not a valid canonical access log entry."""

    default_reason = "ACCESS_LOG_ENTRY_MALFORMED"


@dataclass(frozen=True)
class AccessLogEntry:
    """One request or administrative change, as recorded in the access log (metadata only)."""

    index: int = 0
    time_us: int = 0
    request_id: str = ""
    action: str = ""
    caller_department: str = ""
    officer_id: str = ""
    officer_role: str = ""
    dataset: str = ""
    dataset_version: str = ""
    subject_id: str = ""
    case_id: str = ""
    service_item: str = ""
    fields: tuple[str, ...] = ()
    decision: Decision = "allow"
    reason: str = ""
    message: str = ""
    outcome: str = "OK"
    latency_us: int = 0
    request_digest: str = ""
    response_digest: str = ""
    hidden_from_subject: bool = False
    details: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Freeze the containers so a logged entry cannot change after it was hashed.
        if type(self.fields) is not tuple:
            if isinstance(self.fields, str | bytes):
                # tuple("abc") would log the fields 'a', 'b' and 'c' without a word.
                raise InvalidArgument(
                    f"an access log entry has fields of the wrong type: `fields` has {self.fields!r}; "
                    "give a tuple of field names",
                    reason="ACCESS_LOG_ENTRY_INVALID",
                )
            object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        if _well_typed_entry(self):
            return
        problems = _type_problems(_as_json_object(self))
        if problems:
            raise InvalidArgument(
                "an access log entry has fields of the wrong type: " + "; ".join(problems),
                reason="ACCESS_LOG_ENTRY_INVALID",
            )


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(AccessLogEntry))
_INT_FIELDS = frozenset({"index", "time_us", "latency_us"})


_STR_FIELDS = tuple(n for n in _FIELD_NAMES if n not in _INT_FIELDS | {"hidden_from_subject", "fields", "details"})


def _as_json_object(entry: AccessLogEntry) -> dict[str, Any]:
    """Return the entry as plain JSON values, keyed by field name."""
    # The instance dict holds exactly the dataclass fields; copying it is the cheap way (every append does this).
    values: dict[str, Any] = dict(entry.__dict__)
    values["fields"] = list(entry.fields)
    values["details"] = dict(entry.details)
    return values


def _well_typed(values: Mapping[str, Any]) -> bool:
    """The common case in one quick pass: exact built-in types everywhere (subclasses take the slow path)."""
    return (
        all(type(values[n]) is str for n in _STR_FIELDS)
        and all(type(values[n]) is int for n in _INT_FIELDS)
        and type(values["hidden_from_subject"]) is bool
        and values["decision"] in ("allow", "deny")
        and type(values["fields"]) in (list, tuple)
        and all(type(v) is str for v in values["fields"])
        and isinstance(values["details"], Mapping)
        and all(type(k) is str and type(v) is str for k, v in values["details"].items())
    )


_scalar_values = operator.attrgetter(*_STR_FIELDS, *_INT_FIELDS, "hidden_from_subject")
_SCALAR_TYPES = (str,) * len(_STR_FIELDS) + (int,) * len(_INT_FIELDS) + (bool,)


def _well_typed_entry(entry: AccessLogEntry) -> bool:
    """`_well_typed` read straight off a frozen entry, the type checks in C (every append runs this)."""
    details = entry.details
    return (
        tuple(map(type, _scalar_values(entry))) == _SCALAR_TYPES
        and entry.decision in ("allow", "deny")
        and set(map(type, entry.fields)) <= {str}
        and (not details or (set(map(type, details)) | set(map(type, details.values()))) == {str})
    )


def _type_problems(values: Mapping[str, Any]) -> list[str]:
    """Name every field whose JSON value has the wrong type."""
    if _well_typed(values):
        return []
    problems = []
    for name in _FIELD_NAMES:
        value = values[name]
        if name in _INT_FIELDS:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif name == "hidden_from_subject":
            ok = isinstance(value, bool)
        elif name == "fields":
            ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        elif name == "details":
            ok = isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        elif name == "decision":
            ok = value in ("allow", "deny")
        else:
            ok = isinstance(value, str)
        if not ok:
            problems.append(f"`{name}` has {value!r}")
    return problems


# The canonical JSON with its keys in sorted order, filled by `split_encoding`; a unit test checks it
# byte for byte against `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
_HEAD = (
    '{"action":%s,"caller_department":%s,"case_id":%s,"dataset":%s,"dataset_version":%s,"decision":%s,'
    '"details":{%s},"fields":[%s],"hidden_from_subject":'
)
_TAIL = (
    ',"latency_us":%d,"message":%s,"officer_id":%s,"officer_role":%s,"outcome":%s,"reason":%s,'
    '"request_digest":%s,"request_id":%s,"response_digest":%s,"service_item":%s,"subject_id":%s,"time_us":%d}'
)
_head_strings = operator.attrgetter("action", "caller_department", "case_id", "dataset", "dataset_version", "decision")
_tail_strings = operator.attrgetter(
    "message",
    "officer_id",
    "officer_role",
    "outcome",
    "reason",
    "request_digest",
    "request_id",
    "response_digest",
    "service_item",
    "subject_id",
)
_TRUE = b'true,"index":'
_FALSE = b'false,"index":'

SplitEncoding = tuple[bytes, bytes]
"""An entry's canonical bytes around the two values the log sets when it writes it (hidden flag, index)."""


def split_encoding(entry: AccessLogEntry) -> SplitEncoding:
    """Encode everything but `hidden_from_subject` and `index`, so the log only joins bytes in its transaction."""
    details = entry.details
    head = _HEAD % (
        *map(_quote, _head_strings(entry)),
        ",".join([_quote(k) + ":" + _quote(details[k]) for k in sorted(details)]) if details else "",
        ",".join(map(_quote, entry.fields)),
    )
    tail = _TAIL % (entry.latency_us, *map(_quote, _tail_strings(entry)), entry.time_us)
    try:
        return ENTRY_VERSION + head.encode("utf-8"), tail.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(
            f"an access log entry holds text that is not valid Unicode: {exc.reason}",
            reason="ACCESS_LOG_ENTRY_INVALID",
        ) from exc


def join_encoding(parts: SplitEncoding, index: int, hidden: bool) -> bytes:
    """The canonical bytes of a split entry at `index` with the hidden flag `hidden`."""
    return parts[0] + (_TRUE if hidden else _FALSE) + b"%d" % index + parts[1]


def encode_entry(entry: AccessLogEntry, *, index: int | None = None, hidden: bool | None = None) -> bytes:
    """Return the canonical bytes: version line + sorted, compact UTF-8 JSON (at `index`, `hidden`, when given)."""
    if index is None:
        index = entry.index
    elif not isinstance(index, int) or isinstance(index, bool):
        # The log numbers entries as it writes them; rebuilding the entry would re-check every field.
        raise InvalidArgument(f"a log index is an integer, not {index!r}", reason="ACCESS_LOG_ENTRY_INVALID")
    return join_encoding(split_encoding(entry), index, entry.hidden_from_subject if hidden is None else bool(hidden))


def _refuse_float(text: str) -> Any:
    """Refuse a JSON number with a fraction or exponent: entries carry integers only."""
    raise EntryFormatError(f"access log entries hold no fractional numbers, found {text}")


def decode_entry(data: bytes) -> AccessLogEntry:
    """Parse canonical entry bytes, refusing unknown versions, keys or non-canonical form."""
    if not data.startswith(ENTRY_VERSION):
        if data.startswith(_VERSION_FAMILY):
            version = data[len(_VERSION_FAMILY) :].split(b"\n", 1)[0].decode("utf-8", "replace")
            raise EntryFormatError(
                f"access log entry format {version!r} is unknown; this version reads v1",
                reason="ACCESS_LOG_ENTRY_VERSION_UNKNOWN",
            )
        raise EntryFormatError("the bytes do not start with the access log entry header 'exchange-access-log/v1'")
    try:
        values = json.loads(data[len(ENTRY_VERSION) :].decode("utf-8"), parse_float=_refuse_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EntryFormatError(f"the access log entry is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(values, dict):
        raise EntryFormatError(f"the access log entry must be a JSON object, found {type(values).__name__}")
    missing = sorted(set(_FIELD_NAMES) - values.keys())
    unknown = sorted(values.keys() - set(_FIELD_NAMES))
    if missing or unknown:
        parts = ([f"missing keys {missing}"] if missing else []) + ([f"unknown keys {unknown}"] if unknown else [])
        raise EntryFormatError("the access log entry has " + " and ".join(parts))
    problems = _type_problems(values)
    if problems:
        raise EntryFormatError("the access log entry has fields of the wrong type: " + "; ".join(problems))
    entry = AccessLogEntry(**{**values, "fields": tuple(values["fields"])})
    if encode_entry(entry) != data:
        # Only one byte string may stand for an entry, or its leaf hash would be ambiguous.
        raise EntryFormatError("the access log entry is valid JSON but not in canonical form")
    return entry


# The limit of each text an entry carries: the log's columns copy several, and the recorder fills them partly
# from caller input, so it cuts and cleans them itself rather than let one entry fail a shared batch.
_STRING_LIMITS = (
    ("request_id", limits.REQUEST_ID),
    ("action", limits.ACTION),
    ("caller_department", limits.DEPARTMENT_CODE),
    ("officer_id", limits.OFFICER_ID),
    ("officer_role", limits.ROLE_LIST),
    ("dataset", limits.DATASET_CODE),
    ("dataset_version", limits.DATASET_VERSION),
    ("subject_id", limits.SUBJECT_ID),
    ("case_id", limits.CASE_ID),
    ("service_item", limits.SERVICE_ITEM_CODE),
    ("reason", limits.REASON_CODE),
    ("message", limits.LOG_MESSAGE),
    ("outcome", limits.OUTCOME),
    ("request_digest", limits.DIGEST),
    ("response_digest", limits.DIGEST),
)


def _fits(value: str, limit: limits.Limit) -> bool:
    """The quick test (in C) that a value needs no cleaning; text with newlines takes the slow path."""
    return len(value) <= limit.max_length and value.isprintable()


def bounded_entry(entry: AccessLogEntry) -> AccessLogEntry:
    """The entry with every text within its limit and free of refused characters (the same entry when it is)."""
    changes: dict[str, Any] = {}
    for name, limit in _STRING_LIMITS:
        value = getattr(entry, name)
        if not _fits(value, limit):
            cleaned = limit.clean(value)
            if cleaned != value:
                changes[name] = cleaned
    fields = entry.fields
    if len(fields) > limits.LIST_ITEMS_MAX or not all(_fits(f, limits.FIELD_NAME) for f in fields):
        changes["fields"] = tuple(limits.FIELD_NAME.clean(f) for f in fields[: limits.LIST_ITEMS_MAX])
    details = entry.details
    if details and not all(
        _fits(k, limits.DETAIL_KEY) and limits.DETAIL_VALUE.problem(v) is None for k, v in details.items()
    ):
        kept = list(details.items())[: limits.LIST_ITEMS_MAX]
        changes["details"] = {limits.DETAIL_KEY.clean(k): limits.DETAIL_VALUE.clean(v) for k, v in kept}
    return dataclasses.replace(entry, **changes) if changes else entry


def entry_leaf_hash(entry: AccessLogEntry) -> bytes:
    """Return the Merkle leaf hash of the entry's canonical encoding."""
    return leaf_hash(encode_entry(entry))


# Errors that refuse a request outright: the caller may not, asked for nothing that exists, or asked wrongly.
_REFUSALS = (PermissionDenied, Unauthenticated, ResourceExhausted, InvalidArgument, NotFound, OutOfRange)
_REFUSAL_REASONS = frozenset({"DATASET_NOT_TABLE"})


def decision_for(error: ExchangeError, *, authorised: bool = False) -> Decision:
    """The one deny rule for a request that ended in `error`.

    A policy refusal is always `deny`. Once the policy allowed a request, a later failure (the issuer
    did not answer, a bad signature, an unknown key at the issuer) is an allowed request that failed:
    `allow`, its outcome says how. Before that, a refusal (bad input, an unknown case or dataset) is `deny`.
    """
    if isinstance(error, PermissionDenied | Unauthenticated):
        return "deny"  # a policy refusal is a deny whenever it comes (the subject rule runs on the document)
    if authorised:
        return "allow"
    return "deny" if isinstance(error, _REFUSALS) or error.reason in _REFUSAL_REASONS else "allow"
