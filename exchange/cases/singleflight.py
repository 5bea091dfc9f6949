"""In-process single-flight: concurrent calls for one key share one execution and its result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Coalesces concurrent calls with the same key (one process only; replicas coalesce via the database)."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Task[T]] = {}

    def in_flight(self, key: Hashable) -> bool:
        """Whether a call for ``key`` is running now."""
        return key in self._flights

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result of ``work`` (or of the call already running for ``key``), and whether this call started it."""
        task = self._flights.get(key)
        started = task is None
        if task is None:
            # A task of its own: the caller that started the work may give up without cancelling it for the others.
            task = asyncio.ensure_future(work())
            self._flights[key] = task
            task.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(task), started

    def _landed(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            # Retrieved here, so a failure nobody waited for any more is not reported as "never retrieved".
            task.exception()
