"""The export thread: a bounded queue in front, batches by size and time, retries behind.

The caller's side is `put()`: two bound checks, a size estimate and a `deque.append`
(atomic under the GIL). The queue is bounded in bytes (`max_queue_bytes`, default
64 MiB: an item counts ITEM_BYTES plus the JSON text it carries) and in items
(`max_queue`); past either bound the item is dropped and counted (`dropped`), never
waited for, so the application is never blocked. The byte bound lets a burst of small
spans queue (about 130,000 at the default) while a few huge ones cannot exhaust memory.
One daemon thread per tracer (started on the first item, restarted in a forked child)
hands each batch to the exporter and, while the destination is down, retries the same
batch with capped exponential backoff and jitter. Memory is bounded by the queue plus
the one batch in flight.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any, cast

from promptrail.errors import PermanentError
from promptrail.retry import Backoff, Retry
from promptrail.tracing.events import EventBuilder
from promptrail.tracing.exporter import BatchExporter, Exporter
from promptrail.tracing.serialize import Encoded

log = logging.getLogger("promptrail.tracing")

ITEM_BYTES = 512  # a queued span without large values: the object, its trace and arguments
DEFAULT_MAX_QUEUE = 1_000_000
DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024


def weight(item: Any) -> int:
    """What an item holds in memory, roughly: a fixed part plus its captured JSON text."""
    size = ITEM_BYTES
    value = getattr(item, "input", None)
    if type(value) is Encoded:
        size += len(value)
    value = getattr(item, "output", None)
    if type(value) is Encoded:
        size += len(value)
    return size


class _Flush:
    """A marker in the queue: set once everything queued before it has been handled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Worker:
    def __init__(
        self,
        exporter: Exporter | BatchExporter,
        builder: EventBuilder,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        batch_size: int = 1000,
        flush_interval: float = 1.0,
        max_retry_delay: float = 10.0,
    ):
        self.exporter = exporter
        self.builder = builder
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retry_delay = max_retry_delay
        self.dropped = 0  # items refused because the queue was full
        self.exported = 0  # events delivered
        self.rejected = 0  # events the destination refused one by one
        self.failed = 0  # events given up (refused batch, or unsent at shutdown)
        self._in_flight = 0  # items of the batch being sent now
        self._failing = False
        self._reset()
        _workers.add(self)

    def _reset(self) -> None:
        self.queue: deque[Any] = deque()
        # Two counters, each written by one side only; a lost update between two caller
        # threads only loosens the byte bound by one item.
        self.bytes_in = self.bytes_out = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- caller's side (hot path) ------------------------------------------------------
    def put(self, item: Any) -> None:
        queue = self.queue
        if len(queue) >= self.max_queue or (self.bytes_in - self.bytes_out >= self.max_queue_bytes):
            self._drop()
            return
        self.bytes_in += weight(item)
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
                "promptrail: trace queue full (%d items, about %d bytes); dropping new "
                "observations until the exporter catches up (see tracer.dropped)",
                len(self.queue),
                self.bytes_in - self.bytes_out,
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

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Flush, then stop the thread, all within `timeout`; says what stays undelivered."""
        deadline = time.monotonic() + max(0.0, timeout)
        done = self.flush(timeout)
        left = sum(1 for item in self.queue if type(item) is not _Flush) + self._in_flight
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        if not done and left:
            log.warning(
                "promptrail: %d trace item(s) not delivered within the %.1f s exit bound "
                "(%s); they are dropped (raise shutdown_timeout or PROMPTRAIL_SHUTDOWN_TIMEOUT "
                "to wait longer)",
                left,
                timeout,
                getattr(self.exporter, "url", type(self.exporter).__name__),
            )
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
                self.bytes_out += weight(item)
            if batch:
                self._in_flight = len(batch)
                try:
                    self._send(batch)
                finally:
                    self._in_flight = 0
            if marker is not None:
                marker.done.set()

    def _send(self, batch: list[Any]) -> None:
        export_batch = getattr(self.exporter, "export_batch", None)
        if export_batch is not None:  # the exporter encodes the recorded items itself
            builder = self.builder
            events: list[Any] = batch

            def deliver() -> int:
                return export_batch(batch, builder)  # type: ignore[no-any-return]
        else:
            events = self.builder.build(batch)  # version-1 events, once per batch
            if not events:
                return
            exporter = cast(Exporter, self.exporter)

            def deliver() -> int:
                return exporter.export(events)

        retry = Retry(Backoff(0.1, self.max_retry_delay, jitter="spread"))
        while True:
            try:
                rejected = deliver()
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
