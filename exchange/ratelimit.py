"""Per-grant request quotas (requests per minute), counted in a sliding one-minute window per hub process."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, deque[float]] = {}

    def allow(self, key: str, per_minute: int) -> bool:
        """Count one request under `key`; False when it would exceed `per_minute` (0 = unlimited)."""
        if per_minute <= 0:
            return True
        now = self._clock()
        window = self._windows.setdefault(key, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= per_minute:
            return False
        window.append(now)
        return True
