"""Where batches go: the ingest API over HTTP, or a JSONL file.

Two kinds of exporter, both called on the export thread. A `BatchExporter` gets the
recorded items themselves (observations, traces, scores) and encodes them its own way:
the HTTP exporter writes the compact version-2 format (`wire.py`), an OTLP exporter can
write spans. An `Exporter` gets version-1 events (JSON-ready dicts, `events.py`). Either
delivers, raises `RetryableError` (the worker backs off and tries again) or raises
`PermanentError` (the batch is given up and counted). httpx is imported on first export,
never at `import promptrail`.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from promptrail.tracing.events import EventBuilder
    from promptrail.tracing.wire import CompactEncoder

from promptrail.errors import PermanentError, RetryableError

SDK_NAME = "promptrail-python"
INGEST_PATH = "/api/v1/ingest"


class Exporter(Protocol):
    def export(self, events: list[dict[str, Any]]) -> int:
        """Deliver the events; return how many the destination rejected one by one."""
        ...

    def close(self) -> None: ...


class BatchExporter(Protocol):
    def export_batch(self, items: list[Any], builder: EventBuilder) -> int:
        """Deliver the recorded items (`builder` holds the mask and size limit); return how
        many the destination rejected one by one."""
        ...

    def close(self) -> None: ...


def encode_batch(events: list[dict[str, Any]]) -> bytes:
    from promptrail import __version__

    body = {"batch": events, "metadata": {"sdk": SDK_NAME, "version": __version__}}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class LazyHttpClient:
    """An exporter's httpx client, made on its first request. Once closed it makes none
    again: an export still running when the tracer shuts down (its bound ran out) would
    otherwise open a fresh client that nobody closes."""

    def __init__(self, timeout: float, headers: dict[str, str]):
        self.timeout = timeout
        self.headers = headers
        self._client: Any = None
        self._closed = False
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._closed:
                raise PermanentError("the exporter was closed (the tracer shut down)")
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=self.timeout, headers=self.headers)
            return self._client

    def close(self) -> None:
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def after_fork(self) -> None:
        self._client = None  # the parent's connections are not ours


class _TooLarge(Exception):
    """HTTP 413: the exporter sends the batch again in halves."""


class HttpExporter:
    """gzip JSON `POST {url}/api/v1/ingest` (version 2) with a key of the `ingest` scope."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 10.0):
        self.url = url.rstrip("/") + INGEST_PATH
        self.api_key = api_key
        self.timeout = timeout
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": SDK_NAME,
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = LazyHttpClient(timeout, headers)
        self._encoder: CompactEncoder | None = None
        self.last_errors: list[dict[str, Any]] = []
        self.bytes_sent = 0  # compressed request bodies, for the benchmarks

    def export_batch(self, items: list[Any], builder: EventBuilder) -> int:
        encoder = self._encoder
        if encoder is None or encoder.builder is not builder:
            from promptrail import __version__
            from promptrail.tracing.wire import CompactEncoder

            encoder = self._encoder = CompactEncoder(builder, SDK_NAME, __version__)
        body, count = encoder.encode(items)
        if not count:
            return 0
        try:
            return self._post(body)
        except _TooLarge:
            if len(items) == 1:
                raise PermanentError(f"HTTP 413 from {self.url}: one item is too large") from None
            half = len(items) // 2
            return self.export_batch(items[:half], builder) + self.export_batch(
                items[half:], builder
            )

    def export(self, events: list[dict[str, Any]]) -> int:
        """Version-1 events (for callers who build their own)."""
        try:
            return self._post(encode_batch(events))
        except _TooLarge:
            if len(events) == 1:
                raise PermanentError(f"HTTP 413 from {self.url}: one event is too large") from None
            half = len(events) // 2  # too large: send it in halves
            return self.export(events[:half]) + self.export(events[half:])

    def _post(self, body: bytes) -> int:
        import httpx

        # Level 1: a third of level 5's CPU for a few percent more bytes on JSON like this.
        payload = gzip.compress(body, compresslevel=1)
        try:
            response = self._client.get().post(self.url, content=payload)
        except httpx.HTTPError as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        self.bytes_sent += len(payload)
        status = response.status_code
        if status == 413:
            raise _TooLarge
        if status in (408, 425, 429) or status >= 500:
            raise RetryableError(f"HTTP {status} from {self.url}")
        if status >= 400:
            raise PermanentError(f"HTTP {status} from {self.url}: {response.text[:300]}")
        if status == 200:  # everything stored: no need to read the answer
            self.last_errors = []
            return 0
        try:
            errors = response.json().get("errors") or []
        except (ValueError, AttributeError):
            errors = []
        self.last_errors = errors
        return len(errors)

    def close(self) -> None:
        self._client.close()

    def after_fork(self) -> None:
        self._client.after_fork()


class JsonlExporter:
    """One event per line appended to a file, for offline use (`PROMPTRAIL_TRACE_FILE`)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.Lock()

    def export(self, events: list[dict[str, Any]]) -> int:
        lines = "".join(
            json.dumps(e, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
            for e in events
        )
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(lines)
        except OSError as exc:
            raise PermanentError(f"cannot write {self.path}: {exc}") from exc
        return 0

    def close(self) -> None:
        pass


class MemoryExporter:
    """Keeps every event in a list; for tests of code that is traced."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def export(self, events: list[dict[str, Any]]) -> int:
        self.events.extend(events)
        return 0

    def close(self) -> None:
        pass
