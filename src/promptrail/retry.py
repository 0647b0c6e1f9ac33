"""Capped exponential backoff: the one retry schedule in promptrail.

    retry = Retry(Backoff(0.05, 0.5), retries=2, deadline=monotonic() + 2.0)
    while True:
        outcome = try_once()
        delay = retry.next_delay() if outcome.failed else None
        if delay is None:
            return outcome
        time.sleep(delay)

The runtime client (quick retries within a timeout; the pause before a failed refresh),
the tracer's delivery worker and the CLI's API client use it. Each keeps its own short
loop, because each waits its own way (`time.sleep`, `asyncio.sleep`, a stop event);
what they share is how long to wait and when to give up. Imports nothing at load time:
the runtime client imports it with `import promptrail`.
"""

from __future__ import annotations

from time import monotonic
from typing import Literal

Jitter = Literal["full", "spread", "none"]


class Backoff:
    """The wait before retry n (0-based): min(cap, base * 2**n), jittered.

    `full` draws from [0, wait]: many processes retrying together spread out. `spread`
    draws from [wait/2, 3*wait/2]: a lone worker that should not retry too eagerly.
    """

    __slots__ = ("base", "cap", "jitter")

    def __init__(self, base: float, cap: float, jitter: Jitter = "full"):
        self.base, self.cap, self.jitter = base, cap, jitter

    def delay(self, attempt: int) -> float:
        wait: float = min(self.cap, self.base * 2.0 ** max(0, attempt))
        if self.jitter == "none":
            return wait
        import random

        if self.jitter == "full":
            return random.uniform(0, wait)
        return wait * random.uniform(0.5, 1.5)


class Retry:
    """The retries of one operation: at most `retries` of them, none past `deadline`."""

    __slots__ = ("attempt", "backoff", "deadline", "retries")

    def __init__(self, backoff: Backoff, retries: int | None = None, deadline: float | None = None):
        self.backoff, self.retries, self.deadline = backoff, retries, deadline
        self.attempt = 0  # retries so far

    def next_delay(self) -> float | None:
        """Seconds to wait before the next attempt, or None: give up."""
        if self.retries is not None and self.attempt >= self.retries:
            return None
        delay = self.backoff.delay(self.attempt)
        if self.deadline is not None and monotonic() + delay >= self.deadline:
            return None
        self.attempt += 1
        return delay
