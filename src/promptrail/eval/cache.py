"""The response cache: one SQLite file of answers, keyed by everything that makes them.

The key is sha256 of the canonical JSON of (endpoint, model, rendered messages, model
parameters, sample number): change any of them and the call is made again; change
nothing and a rerun makes no call at all. The file lives at `.promptrail/eval-cache.sqlite`
beside `prompts/` unless told otherwise, and is safe to keep between CI runs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from promptrail.content import canonical_json, content_hash

DEFAULT_FILE = Path(".promptrail") / "eval-cache.sqlite"
_COMMIT_EVERY = 100  # answers; a crash loses at most these, and fsyncs stay rare


def cache_key(
    endpoint: str, model: str, messages: list[dict[str, Any]], params: dict[str, Any], sample: int
) -> str:
    return content_hash(
        {
            "endpoint": endpoint.rstrip("/"),
            "model": model,
            "messages": messages,
            "params": params,
            "sample": sample,
        }
    )


class ResponseCache:
    """Opened on first use, so a run refused before its first call leaves no file behind."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pending = 0

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS responses"
                " (key TEXT PRIMARY KEY, answer TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            db.execute("BEGIN")
            self._db = db
        return self._db

    def get(self, key: str) -> dict[str, Any] | None:
        if self._db is None and not self.path.exists():
            return None
        with self._lock:
            row = (
                self._open()
                .execute("SELECT answer FROM responses WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        answer: dict[str, Any] = json.loads(row[0])
        return answer

    def put(self, key: str, answer: dict[str, Any]) -> None:
        with self._lock:
            db = self._open()
            db.execute(
                "INSERT OR REPLACE INTO responses (key, answer, created_at) VALUES (?, ?, ?)",
                (key, canonical_json(answer), time.time()),
            )
            self._pending += 1
            if self._pending >= _COMMIT_EVERY:
                db.execute("COMMIT")
                db.execute("BEGIN")
                self._pending = 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                if self._db.in_transaction:
                    self._db.execute("COMMIT")
                self._db.close()
                self._db = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
