"""Progress of a run on stderr: a redrawn bar on a terminal, a plain line per tenth in CI."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_REDRAW_EVERY = 0.1  # seconds


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO | None = None, enabled: bool = True):
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.total > 0
        self.bar = self.enabled and self.stream.isatty()
        self.done = 0
        self.errors = 0
        self.cached = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._next_line = 1

    def advance(self, *, error: bool = False, cached: bool = False) -> None:
        self.done += 1
        self.errors += error
        self.cached += cached
        if not self.enabled:
            return
        if self.bar:
            now = time.monotonic()
            if now - self._drawn >= _REDRAW_EVERY or self.done == self.total:
                self._drawn = now
                self._draw()
        elif self.done * 10 >= self._next_line * self.total:
            while self.done * 10 >= self._next_line * self.total:
                self._next_line += 1
            self.stream.write(f"{self.label}: {self._summary()}\n")
            self.stream.flush()

    def _summary(self) -> str:
        elapsed = time.monotonic() - self._started
        percent = 100 * self.done // self.total
        extra = f", {self.errors} failed" if self.errors else ""
        extra += f", {self.cached} from cache" if self.cached else ""
        return f"{self.done}/{self.total} ({percent}%){extra} in {elapsed:.1f}s"

    def _draw(self) -> None:
        width = 30
        filled = width * self.done // self.total
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self._summary()}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.bar:
            self.stream.write("\n")
            self.stream.flush()
