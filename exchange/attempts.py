"""Every attempt leaves an entry: what a request had done, and the entry of one stopped from outside.

A caller that cancels, or whose deadline passes, ends the handler with `asyncio.CancelledError`
wherever it was waiting: at the adapter, at the database, between two batches. The request's
entry is still owed (the adapter may already have been asked for someone's data), so it is
written shielded from that cancellation and says how far the request got.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from exchange.clock import now_us
from exchange.errors import ExchangeError

if TYPE_CHECKING:
    from exchange.audit.entry import AccessLogEntry
    from exchange.hub import Hub

log = logging.getLogger(__name__)

# A call stopped this close to its deadline was stopped by the deadline (gRPC's timer and ours differ a little).
DEADLINE_SLACK_SECONDS = 0.05


@dataclass
class Attempt:
    """One RPC in progress: the access-log entries written for it (the error guard writes one if there are none)."""

    entries: int = 0


_ATTEMPT: ContextVar[Attempt | None] = ContextVar("attempt", default=None)


def begin_attempt() -> Attempt:
    """Start counting the entries of the RPC being served (tasks it starts share the count)."""
    attempt = Attempt()
    _ATTEMPT.set(attempt)
    return attempt


def entry_written() -> None:
    """Called by the one recorder after each committed entry."""
    attempt = _ATTEMPT.get()
    if attempt is not None:
        attempt.entries += 1


@dataclass
class Progress:
    """The steps a request has completed, in order ("authorised", "adapter called", ...), for its entry."""

    steps: list[str] = field(default_factory=list)

    def done(self, step: str) -> None:
        self.steps.append(step)

    @property
    def authorised(self) -> bool:
        return "authorised" in self.steps

    def describe(self) -> str:
        return "done: " + (", ".join(self.steps) if self.steps else "nothing")


@dataclass(frozen=True)
class Deadline:
    """The caller's deadline on our monotonic clock (None: the caller set none)."""

    at: float | None

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def remaining(self) -> float | None:
        """Seconds left (never negative), to pass on to the calls made for this request."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def interruption(self) -> tuple[str, str, str]:
        """(reason, outcome, sentence) for a request stopped from outside: its deadline passed, or it was cancelled."""
        if self.at is not None and time.monotonic() >= self.at - DEADLINE_SLACK_SECONDS:
            return "DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED", "the caller's deadline passed"
        return "CANCELLED", "CANCELLED", "the caller cancelled the request"


async def record_interrupted(
    hub: Hub, entry: AccessLogEntry, deadline: Deadline, progress: Progress, started: float, where: str = ""
) -> None:
    """Write the entry of a request stopped from outside (`entry` as far as it was filled), saying how far it
    got; `started` is its `time.perf_counter()` at the start, `where` adds when it stopped ("before the first row")."""
    reason, outcome, how = deadline.interruption()
    stopped = replace(
        entry,
        time_us=now_us(),
        decision="allow" if progress.authorised else "deny",
        reason=reason,
        message=f"{how}{' ' + where if where else ''} ({progress.describe()})"[:500],
        outcome=outcome,
        latency_us=int((time.perf_counter() - started) * 1e6),
    )
    await record_despite_cancellation(hub, stopped)


async def record_despite_cancellation(hub: Hub, entry: AccessLogEntry) -> None:
    """Write the entry of a request being cancelled; the cancellation that ended the request cannot stop it.

    Called from an `except asyncio.CancelledError` block, which then re-raises. If the log cannot be
    written the hub log says so (the caller is gone; there is nobody to answer).
    """
    write = asyncio.ensure_future(hub.record(entry))
    try:
        await asyncio.shield(write)
    except asyncio.CancelledError:
        pass  # cancelled once more while waiting: the write goes on by itself
    except ExchangeError as failure:
        log.warning("could not log the interrupted %s (request %s): %s", entry.action, entry.request_id, failure)
