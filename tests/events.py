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


def _stamp(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def scored_generations(
    name: str,
    version: int,
    helpful: list[float],
    tone: list[float],
    *,
    ms: int,
    cost: float,
    superseded: float | None = None,
) -> list[dict[str, Any]]:
    """One trace per value: a generation of `name`@`version`, `helpful` scored on the
    generation (and, with `superseded`, an older helpful score on it first), `tone` on the
    trace. Generation i starts i seconds after the first, so the last is the newest."""
    first = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    out = []
    for i, (value, tone_value) in enumerate(zip(helpful, tone, strict=True)):
        trace_id, gen = uuid.uuid4().hex, new_id()
        start = first + dt.timedelta(seconds=i)
        out += [
            event("trace-create", {"id": trace_id, "name": "reply", "start_time": _stamp(start)}),
            event(
                "observation-create",
                {
                    "id": gen,
                    "trace_id": trace_id,
                    "type": "generation",
                    "name": "llm",
                    "start_time": _stamp(start),
                    "end_time": _stamp(start + dt.timedelta(milliseconds=ms)),
                    "model": "gpt-4o",
                    "cost": {"total": cost},
                    "prompt": {"name": name, "version": version},
                },
            ),
        ]
        scores = [("helpful", value, gen, start + dt.timedelta(minutes=5))]
        if superseded is not None:
            scores.append(("helpful", superseded, gen, start + dt.timedelta(minutes=1)))
        scores.append(("tone", tone_value, None, start + dt.timedelta(minutes=5)))
        for score, number, observation, at in scores:
            body = {
                "id": new_id(),
                "name": score,
                "value": number,
                "trace_id": trace_id,
                "observation_id": observation,
                "timestamp": _stamp(at),
                "source": "eval",
            }
            out.append(event("score-create", body))
    return out
