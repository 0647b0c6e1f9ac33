"""Where batches of events go: the ingest API over HTTP, or a JSONL file.

An exporter gets a list of events (already JSON-ready) on the export thread and either
delivers it, raises `RetryableError` (the worker backs off and tries again) or raises
`PermanentError` (the batch is given up and counted). httpx is imported on first export,
never at `import promptrail`.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from promptrail.errors import PermanentError, RetryableError

SDK_NAME = "promptrail-python"
INGEST_PATH = "/api/v1/ingest"


class Exporter(Protocol):
    def export(self, events: list[dict[str, Any]]) -> int:
        """Deliver the events; return how many the destination rejected one by one."""
        ...

    def close(self) -> None: ...


def encode_batch(events: list[dict[str, Any]]) -> bytes:
    from promptrail import __version__

    body = {"batch": events, "metadata": {"sdk": SDK_NAME, "version": __version__}}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class HttpExporter:
    """gzip JSON `POST {url}/api/v1/ingest` with a key that holds the `ingest` scope."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 10.0):
        self.url = url.rstrip("/") + INGEST_PATH
        self.api_key = api_key
        self.timeout = timeout
        self._client: Any = None
        self.last_errors: list[dict[str, Any]] = []

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            headers = {
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": SDK_NAME,
            }
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._client = httpx.Client(timeout=self.timeout, headers=headers)
        return self._client

    def export(self, events: list[dict[str, Any]]) -> int:
        import httpx

        payload = gzip.compress(encode_batch(events), compresslevel=5)
        try:
            response = self._http().post(self.url, content=payload)
        except httpx.HTTPError as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 413 and len(events) > 1:  # too large: send it in halves
            half = len(events) // 2
            return self.export(events[:half]) + self.export(events[half:])
        if status in (408, 425, 429) or status >= 500:
            raise RetryableError(f"HTTP {status} from {self.url}")
        if status >= 400:
            raise PermanentError(f"HTTP {status} from {self.url}: {response.text[:300]}")
        try:
            errors = response.json().get("errors") or []
        except (ValueError, AttributeError):
            errors = []
        self.last_errors = errors
        return len(errors)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None

    def after_fork(self) -> None:
        self._client = None  # the parent's connections are not ours


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
