"""Waiting for a condition in tests, and saying what was seen when it never came.

`wait_until(probe, until=...)` calls `probe` until `until(value)` holds and returns that
value. A probe may fail while the thing comes up (a refused connection, a 404): that is
retried, and on timeout the message names the last value returned and the last error
raised, so a hang reads as "last error: ConnectError ..." rather than a bare timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    until: Callable[[T], Any] = bool,
    *,
    within: float = 5.0,
    every: float = 0.02,
    what: str = "the condition",
) -> T:
    """The first value of `probe()` that `until` accepts; fail after `within` seconds."""
    deadline = time.monotonic() + within
    never = object()
    last_value: Any = never
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
        except Exception as exc:  # retried; the last one is reported
            last_error = exc
        else:
            if until(value):
                return value
            last_value = value
        if time.monotonic() >= deadline:
            seen = []
            if last_value is not never:
                seen.append(f"last value: {last_value!r}")
            if last_error is not None:
                seen.append(f"last error: {type(last_error).__name__}: {last_error}")
            raise AssertionError(
                f"{what} not met within {within}s; {'; '.join(seen)}"
            ) from last_error
        time.sleep(every)
