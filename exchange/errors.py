"""Domain errors shared by the catalog, the adapters and the hub.

Each class names a meaning, not a place. The hub maps them to gRPC status codes in
one table (`exchange.status`); nothing else turns an error into a status.

Every error carries a human message, a machine ``reason`` (UPPER_SNAKE_CASE, sent as
``google.rpc.ErrorInfo.reason``) and, where input was at fault, the field paths that
were wrong (sent as ``google.rpc.BadRequest`` field violations).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One wrong piece of input: where it is (``fields[2].type``) and what is wrong with it."""

    field: str
    description: str


# What an error may send back: a message, and each caller value quoted in it (see `quote`).
MAX_MESSAGE_CHARS = 512
MAX_QUOTED_CHARS = 64

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "'": "\\'", "\\": "\\\\"}


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """At most `limit` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def quote(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """A caller's value as a message may show it: quoted, at most `limit` characters, non-printables escaped.

    Every message that repeats caller input uses this, so no input makes a message long or unreadable.
    """
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "'" + "".join(_escape(c) for c in text) + "'"


class ExchangeError(Exception):
    """Base of every error the product raises on purpose."""

    default_reason = "ERROR"
    # Set by the client when the error arrived as a gRPC status (a grpc.StatusCode).
    grpc_code: object = None
    # Set by the client from the status's google.rpc.LocalizedMessage: the error in the language asked for.
    localized_message: str = ""
    locale: str = ""

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        violations: list[FieldViolation] | tuple[FieldViolation, ...] = (),
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.violations = tuple(violations)
        self.metadata = dict(metadata or {})

    def __str__(self) -> str:
        if not self.violations:
            return self.message
        details = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        return f"{self.message} ({details})"


class InvalidArgument(ExchangeError):
    """The caller sent something malformed; fixing the request fixes it."""

    default_reason = "INVALID_ARGUMENT"


class NotFound(ExchangeError):
    default_reason = "NOT_FOUND"


class AlreadyExists(ExchangeError):
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(ExchangeError):
    """The request is well formed but the system is not in a state that allows it."""

    default_reason = "FAILED_PRECONDITION"


class Aborted(ExchangeError):
    """A concurrent change won (optimistic concurrency); re-read and retry."""

    default_reason = "ABORTED"


class Unauthenticated(ExchangeError):
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(ExchangeError):
    default_reason = "PERMISSION_DENIED"


class ResourceExhausted(ExchangeError):
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(ExchangeError):
    """A dependency (an adapter, the database, the access log) cannot be reached now."""

    default_reason = "UNAVAILABLE"


class DeadlineExceeded(ExchangeError):
    default_reason = "DEADLINE_EXCEEDED"


class OutOfRange(ExchangeError):
    """An index or size past the end of something whose size the message names (the access log)."""

    default_reason = "OUT_OF_RANGE"


class DataLoss(ExchangeError):
    """Data failed an integrity check (a bad signature, a changed log entry)."""

    default_reason = "DATA_LOSS"


# The one table from error type to status name (exchange.status turns the names into gRPC codes; the access
# log records them as an entry's outcome). An ExchangeError of no listed type is INTERNAL.
STATUS_NAMES: dict[type[ExchangeError], str] = {
    InvalidArgument: "INVALID_ARGUMENT",
    NotFound: "NOT_FOUND",
    AlreadyExists: "ALREADY_EXISTS",
    FailedPrecondition: "FAILED_PRECONDITION",
    Aborted: "ABORTED",
    Unauthenticated: "UNAUTHENTICATED",
    PermissionDenied: "PERMISSION_DENIED",
    ResourceExhausted: "RESOURCE_EXHAUSTED",
    Unavailable: "UNAVAILABLE",
    DeadlineExceeded: "DEADLINE_EXCEEDED",
    OutOfRange: "OUT_OF_RANGE",
    DataLoss: "DATA_LOSS",
}


def status_name(error: ExchangeError) -> str:
    """The status name of `error`: its nearest type in STATUS_NAMES, else INTERNAL."""
    for cls in type(error).__mro__:
        if cls in STATUS_NAMES:
            return STATUS_NAMES[cls]
    return "INTERNAL"
