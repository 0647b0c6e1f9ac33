"""The export thread: a bounded queue in front, batches by size and time, retries behind.

The caller's side is `put()`: a length check and a `deque.append` (atomic under the GIL);
when the queue is full the item is dropped and counted, never waited for. One daemon
thread per tracer (started on the first item, restarted in a forked child) turns items
into events, hands them to the exporter and, while the destination is down, retries the
same batch with capped exponential backoff and jitter. Memory is bounded by the queue
plus the one batch in flight.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import deque
from typing import Any

from promptrail.errors import PermanentError
from promptrail.retry import Backoff, Retry
from promptrail.tracing.events import EventBuilder
from promptrail.tracing.exporter import Exporter

log = logging.getLogger("promptrail.tracing")


class _Flush:
    """A marker in the queue: set once everything queued before it has been handled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Worker:
    def __init__(
        self,
        exporter: Exporter,
        builder: EventBuilder,
        *,
        max_queue: int = 10_000,
        batch_size: int = 256,
        flush_interval: float = 1.0,
        max_retry_delay: float = 10.0,
    ):
        self.exporter = exporter
        self.builder = builder
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retry_delay = max_retry_delay
        self.dropped = 0  # items refused because the queue was full
        self.exported = 0  # events delivered
        self.rejected = 0  # events the destination refused one by one
        self.failed = 0  # events given up (refused batch, or unsent at shutdown)
        self._failing = False
        self._reset()
        _workers.add(self)

    def _reset(self) -> None:
        self.queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- caller's side (hot path) ------------------------------------------------------
    def put(self, item: Any) -> None:
        queue = self.queue
        if len(queue) >= self.max_queue:
            self._drop()
            return
        queue.append(item)
        if self._thread is None:
            self._start()
        elif len(queue) == self.batch_size:
            self._wake.set()

    def _drop(self) -> None:
        with self._lock:
            self.dropped += 1
            first = self.dropped == 1
        if first:
            log.warning(
                "promptrail: trace queue full (%d items); dropping new observations "
                "until the exporter catches up (see tracer.dropped)",
                self.max_queue,
            )

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            thread = threading.Thread(target=self._run, name="promptrail-tracer", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: nothing can be sent any more
                self._stop.set()
                return
            self._thread = thread

    # -- flushing ----------------------------------------------------------------------
    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything queued so far is delivered (or given up); False on timeout."""
        if self._stop.is_set():
            return not self.queue
        if self._thread is None:
            if not self.queue:
                return True
            self._start()
            if self._thread is None:  # stopped
                return not self.queue
        marker = _Flush()
        self.queue.append(marker)  # markers bypass the bound: they are tiny and few
        self._wake.set()
        return marker.done.wait(timeout)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Flush within `timeout`, then stop the thread; unsent items count as failed."""
        done = self.flush(timeout)
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(min(timeout, 1.0))
        try:
            self.exporter.close()
        except Exception:
            log.debug("promptrail: exporter close failed", exc_info=True)
        return done

    # -- export thread -----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # a bug here must not kill tracing for the process
                log.exception("promptrail: export thread error")
        self._drain_markers()

    def _drain(self) -> None:
        queue = self.queue
        while queue and not self._stop.is_set():
            batch: list[Any] = []
            marker: _Flush | None = None
            while len(batch) < self.batch_size:
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                if type(item) is _Flush:
                    marker = item
                    break
                batch.append(item)
            if batch:
                self._send(batch)
            if marker is not None:
                marker.done.set()

    def _send(self, batch: list[Any]) -> None:
        events = self.builder.build(batch)  # serialization happens here, once per batch
        if not events:
            return
        retry = Retry(Backoff(0.1, self.max_retry_delay, jitter="spread"))
        while True:
            try:
                rejected = self.exporter.export(events)
            except PermanentError as exc:
                self.failed += len(events)
                log.warning("promptrail: %d trace events refused: %s", len(events), exc)
                return
            except Exception as exc:
                if not self._failing:
                    self._failing = True
                    log.warning(
                        "promptrail: cannot deliver traces (%s); keeping them and retrying", exc
                    )
                if self._stop.wait(retry.next_delay() or 0.0):  # never None: no limit
                    self.failed += len(events)
                    return
                continue
            if self._failing:
                self._failing = False
                log.warning("promptrail: trace delivery works again")
            self.exported += len(events) - rejected
            self.rejected += rejected
            return

    def _drain_markers(self) -> None:
        """After a stop nothing more is sent: release anyone waiting in flush()."""
        while self.queue:
            item = self.queue.popleft()
            if type(item) is _Flush:
                item.done.set()
            else:
                self.failed += 1

    def _after_fork_in_child(self) -> None:
        self._reset()
        after_fork = getattr(self.exporter, "after_fork", None)
        if after_fork is not None:
            after_fork()


_workers: weakref.WeakSet[Worker] = weakref.WeakSet()


def _after_fork() -> None:
    for worker in list(_workers):
        worker._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
