"""In-process single-flight: concurrent calls for one key share one execution and its result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Coalesces concurrent calls with the same key (one process only; replicas coalesce via the database)."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Future[T]] = {}

    def in_flight(self, key: Hashable) -> bool:
        """Whether a call for ``key`` is running now."""
        return key in self._flights

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result of ``work`` (or of the call already running for ``key``), and whether this call ran it."""
        running = self._flights.get(key)
        if running is not None:
            # shield: one waiter giving up must not cancel the fetch the others wait for.
            return await asyncio.shield(running), False
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            result = await work()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            # Mark retrieved so a flight nobody else joined does not log "exception never retrieved".
            future.exception()
            raise
        else:
            future.set_result(result)
            return result, True
        finally:
            del self._flights[key]
