"""Raw ingest events for tests that talk to the API directly."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from typing import Any

import httpx

BASE = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> str:
    return (BASE + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def event(kind: str, body: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"id": event_id or uuid.uuid4().hex, "type": kind, "timestamp": at(0), "body": body}


def post(api: httpx.Client, events: list[Any], *, compress: bool = True) -> httpx.Response:
    data = json.dumps({"batch": events, "metadata": {"sdk": "test"}}).encode()
    headers = {"Content-Type": "application/json"}
    if compress:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return api.post("/api/v1/ingest", content=data, headers=headers)
