"""The request id of the call being served: the caller's `x-request-id` when well-formed, else a fresh one.

A caller (or its gateway) may name its call so that the hub's access-log entry can be found from the
caller's own logs. The id goes into the log and into response metadata, so it is bounded: at most 64
characters of ``[A-Za-z0-9._:-]``; anything else is replaced by a fresh id rather than refused, because a
tracing header must never cost a caller its call.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

HEADER = "x-request-id"
MAX_LENGTH = 64
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_CURRENT: ContextVar[str] = ContextVar("request_id")


def fresh_request_id() -> str:
    """A new request id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def accepted_request_id(value: object) -> str:
    """`value` when it is a well-formed request id, else a fresh one."""
    if isinstance(value, str) and _WELL_FORMED.fullmatch(value):
        return value
    return fresh_request_id()


def request_id_from_metadata(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The id a call's metadata asks for (the first `x-request-id`), or a fresh one."""
    for key, value in metadata or ():
        if key == HEADER:
            return accepted_request_id(value)
    return fresh_request_id()


def begin_request(request_id: str) -> None:
    """Make `request_id` the current call's id (for the rest of this task's context)."""
    _CURRENT.set(request_id)


def current_request_id() -> str:
    """The id of the call being served; outside a call (console, CLI, tasks) a fresh id each time."""
    return _CURRENT.get(None) or fresh_request_id()
