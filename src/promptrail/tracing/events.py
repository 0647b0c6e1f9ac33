"""Recorded objects -> ingest events (the wire format in docs/tracing.md), on the export thread.

The readable format of version 1, for the JSONL and memory exporters and for exporters
of one's own (the HTTP exporter sends the compact version 2, `wire.py`). Captured values
are parsed back, call arguments get their parameter names, usage
objects from OpenAI or Anthropic become `{input, output, total, cached, reasoning}`, a
prompt object becomes `{name, version, label, hash}`, and the `mask` hook runs on every
input, output and metadata before anything leaves the process.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from promptrail.tracing.context import span_hex, trace_hex
from promptrail.tracing.observation import Observation, Score, Trace
from promptrail.tracing.serialize import Call, Encoded, to_jsonable

log = logging.getLogger("promptrail.tracing")

Mask = Callable[[Any], Any]


def iso(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC).replace(microsecond=rest // 1000)
    return stamp.isoformat().replace("+00:00", "Z")


class EventBuilder:
    def __init__(
        self,
        *,
        mask: Mask | None = None,
        max_chars: int = 100_000,
        environment: str | None = None,
        release: str | None = None,
    ):
        self.mask = mask
        self.max_chars = max_chars
        self.environment = environment
        self.release = release

    def build(self, items: list[Any]) -> list[dict[str, Any]]:
        """Events for a batch; an item that cannot be converted is logged and skipped."""
        events: list[dict[str, Any]] = []
        for item in items:
            try:
                if isinstance(item, Observation):
                    events.append(self._envelope("observation-create", self.observation(item)))
                    trace = item.trace
                    if trace.root is item and not (trace.joined and trace.attrs is None):
                        events.append(self._envelope("trace-create", self.trace(trace)))
                elif isinstance(item, Trace):
                    events.append(self._envelope("trace-create", self.trace(item)))
                elif isinstance(item, Score):
                    events.append(self._envelope("score-create", self.score(item)))
            except Exception:
                self.log_skipped(item)
        return events

    @staticmethod
    def log_skipped(item: Any) -> None:
        log.warning("promptrail: could not convert %r; skipped", item, exc_info=True)

    @staticmethod
    def _envelope(type_: str, body: dict[str, Any]) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        return {"id": uuid.uuid4().hex, "type": type_, "timestamp": now, "body": body}

    # -- conversions ----------------------------------------------------------------------
    def data(self, value: Any) -> Any:
        """JSON-ready and masked; a failing mask hides the value rather than leaking it."""
        if value is None:
            return None
        value = decoded(value)
        value = to_jsonable(value, self.max_chars)
        if self.mask is not None:
            try:
                value = to_jsonable(self.mask(value), self.max_chars)
            except Exception as exc:
                return f"<masking failed: {type(exc).__name__}>"
        return value

    def observation(self, obs: Observation) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": span_hex(obs.id),
            "trace_id": trace_hex(obs.trace.id),
            "type": obs.type,
            "name": str(obs.name),
            "start_time": iso(obs.start_ns),
        }
        if obs.parent_id is not None:
            body["parent_id"] = span_hex(obs.parent_id)
        if obs.end_ns:
            body["end_time"] = iso(obs.end_ns)
        _put(body, "input", self.data(obs.input))
        _put(body, "output", self.data(obs.output))
        _put(body, "metadata", self.data(getattr(obs, "metadata", None)))
        _put(body, "level", getattr(obs, "level", None))
        status = getattr(obs, "status_message", None)
        _put(body, "status_message", None if status is None else str(status)[:10_000])
        _put(body, "version", getattr(obs, "version", None))
        model = getattr(obs, "model", None)
        _put(body, "model", None if model is None else str(model))
        _put(body, "model_parameters", self.data(getattr(obs, "model_parameters", None)))
        _put(body, "usage", normalize_usage(getattr(obs, "usage", None)))
        _put(body, "cost", normalize_cost(getattr(obs, "cost", None)))
        _put(body, "prompt", prompt_ref(getattr(obs, "prompt", None)))
        completion_start = getattr(obs, "completion_start_ns", None)
        if completion_start:
            body["completion_start_time"] = iso(completion_start)
        return body

    def trace(self, trace: Trace) -> dict[str, Any]:
        root = trace.root
        attrs = trace.attrs or {}
        body: dict[str, Any] = {"id": trace_hex(trace.id)}
        if not trace.joined:  # a joined trace's name and times are its first process's
            body["name"] = str(attrs.get("name") or root.name)
            body["start_time"] = iso(root.start_ns)
            if root.end_ns:
                body["end_time"] = iso(root.end_ns)
        elif attrs.get("name"):
            body["name"] = str(attrs["name"])
        for key in ("user_id", "session_id", "release", "environment"):
            _put(body, key, None if attrs.get(key) is None else str(attrs[key]))
        body.setdefault("release", self.release)
        body.setdefault("environment", self.environment)
        if body["release"] is None:
            del body["release"]
        if body["environment"] is None:
            del body["environment"]
        if attrs.get("tags"):
            body["tags"] = [str(t) for t in attrs["tags"]]
        _put(body, "metadata", self.data(attrs.get("metadata")))
        # A trace shows its root's input and output unless it was given its own.
        _put(body, "input", self.data(attrs.get("input", None if trace.joined else root.input)))
        output = attrs.get("output", None if trace.joined else root.output)
        _put(body, "output", self.data(output))
        if attrs.get("public") is not None:
            body["public"] = bool(attrs["public"])
        return body

    def score(self, score: Score) -> dict[str, Any]:
        value = score.value
        body: dict[str, Any] = {
            "id": span_hex(score.id),
            "name": str(score.name),
            "value": value if isinstance(value, bool | int | float | str) else str(value),
            "source": "sdk",
            "timestamp": iso(score.timestamp_ns),
        }
        for key in ("trace_id", "observation_id", "session_id", "data_type"):
            _put(body, key, getattr(score, key))
        if score.comment is not None:
            body["comment"] = self.data(str(score.comment))
        return body


def _put(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


def decoded(value: Any) -> Any:
    """A captured value back as Python data (JSON text parsed, call arguments named)."""
    kind = type(value)
    if kind is Encoded:
        return json.loads(value)
    if kind is Call:
        return value.as_dict()
    if kind is dict:  # metadata: a mapping of captured values
        return {k: decoded(v) for k, v in value.items()}
    return value


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump()
        except Exception:
            return None
        return dumped if isinstance(dumped, Mapping) else None
    attrs = getattr(value, "__dict__", None)
    return attrs if isinstance(attrs, dict) else None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def normalize_usage(usage: Any) -> dict[str, int] | None:
    """Our usage shape from ours, OpenAI's (chat or responses) or Anthropic's."""
    raw = _as_mapping(usage)
    if not raw:
        return None

    def first(*names: str) -> int | None:
        for name in names:
            value = _int(raw.get(name))
            if value is not None:
                return value
        return None

    def nested(outer: str, inner: str) -> int | None:
        details = _as_mapping(raw.get(outer))
        return None if not details else _int(details.get(inner))

    input_ = first("input", "prompt_tokens", "input_tokens")
    cached = first("cached", "cached_tokens")
    if cached is None:
        cached = nested("prompt_tokens_details", "cached_tokens")
    if cached is None:
        cached = nested("input_tokens_details", "cached_tokens")
    anthropic_read = _int(raw.get("cache_read_input_tokens"))
    if anthropic_read is not None:  # Anthropic counts cache reads and writes apart from input
        cached = anthropic_read
        input_ = (
            (input_ or 0) + anthropic_read + (_int(raw.get("cache_creation_input_tokens")) or 0)
        )
    output = first("output", "completion_tokens", "output_tokens")
    reasoning = first("reasoning", "reasoning_tokens")
    if reasoning is None:
        reasoning = nested("completion_tokens_details", "reasoning_tokens")
    if reasoning is None:
        reasoning = nested("output_tokens_details", "reasoning_tokens")
    total = first("total", "total_tokens")
    if total is None and (input_ is not None or output is not None):
        total = (input_ or 0) + (output or 0)
    out = {"input": input_, "output": output, "total": total}
    out |= {"cached": cached, "reasoning": reasoning}
    return {k: v for k, v in out.items() if v is not None} or None


def normalize_cost(cost: Any) -> dict[str, float] | None:
    """A caller-given cost in USD: a number (the total) or {input, output, total}."""
    if cost is None or isinstance(cost, bool):
        return None
    if isinstance(cost, int | float):
        return {"total": float(cost)}
    raw = _as_mapping(cost)
    if not raw:
        return None
    out: dict[str, float] = {}
    for key in ("input", "output", "total"):
        try:
            if raw.get(key) is not None:
                out[key] = float(raw[key])
        except (TypeError, ValueError):
            pass
    if "total" not in out and out:
        out["total"] = sum(out.values())
    return out or None


def _prompt_field(prompt: Any, key: str) -> Any:
    if isinstance(prompt, Mapping):
        return prompt.get(key)
    return getattr(prompt, key, None)


def prompt_name(prompt: Any) -> str | None:
    """The name of a fetched prompt (duck-typed) or a mapping, if it has one."""
    name = None if prompt is None else _prompt_field(prompt, "name")
    return None if name is None else str(name)


def prompt_ref(prompt: Any) -> dict[str, Any] | None:
    """{name, version, label, hash} from a fetched prompt (duck-typed) or a mapping."""
    name = prompt_name(prompt)
    if name is None:
        return None

    def get(key: str) -> Any:
        return _prompt_field(prompt, key)

    ref: dict[str, Any] = {"name": name}
    version = _int(get("version"))
    if version is not None:
        ref["version"] = version
    for key in ("label", "hash"):
        value = get(key)
        if isinstance(value, str):
            ref[key] = value
    return ref
