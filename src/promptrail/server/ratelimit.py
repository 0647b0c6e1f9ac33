"""Per-minute limits: API key failures per client address, ingest requests per key.

A fixed one-minute window per caller, held in this process (each server process counts
its own callers; a guesser spread over processes is still slowed by each). Over the limit,
the answer is 429 with `Retry-After`: the seconds until the window ends.
"""

from __future__ import annotations

import math
import time

from promptrail.errors import ApiProblem

WINDOW = 60.0
MAX_CALLERS = 100_000  # then start over: memory stays bounded whatever the callers


class Limiter:
    """At most `per_minute` events per caller and minute (0: no limit)."""

    def __init__(self, per_minute: int, what: str):
        self.per_minute = per_minute
        self.what = what
        self._windows: dict[str, tuple[float, int]] = {}

    def _window(self, caller: str, now: float) -> tuple[float, int]:
        start, count = self._windows.get(caller, (now, 0))
        return (now, 0) if now - start >= WINDOW else (start, count)

    def check(self, caller: str) -> None:
        """Raise 429 when `caller` is over the limit already."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        start, count = self._window(caller, now)
        if count >= self.per_minute:
            wait = max(1, math.ceil(start + WINDOW - now))
            raise ApiProblem(
                429,
                "rate_limited",
                f"too many {self.what} from here ({self.per_minute} a minute); "
                f"try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    def count(self, caller: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        start, count = self._window(caller, now)
        if len(self._windows) >= MAX_CALLERS:
            self._windows = {}
        self._windows[caller] = (start, count + 1)

    def hit(self, caller: str) -> None:
        """Count one event, refusing it (429) when over the limit."""
        self.check(caller)
        self.count(caller)
