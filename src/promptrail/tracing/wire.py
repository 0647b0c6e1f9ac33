"""The compact ingest format (version 2) that the HTTP exporter sends, on the export thread.

One record per observation, built by string formatting around JSON text that was mostly
made on the caller's thread already (`serialize.capture`): no envelope per event, no
random event id or timestamp, times as integer microseconds from one base per batch, and
the root observation carrying its trace's attributes instead of a second event that
repeats its input and output. docs/tracing.md describes the keys; the server still takes
version 1 (`{"batch": [event, ...]}`), so an older tracer keeps working.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring as _string
from typing import Any

from promptrail.tracing.events import (
    EventBuilder,
    normalize_cost,
    normalize_usage,
    prompt_ref,
)
from promptrail.tracing.observation import Observation, Score, Trace
from promptrail.tracing.serialize import Call, Encoded, encode

WIRE_VERSION = 2
_TYPES = {"generation": ',"k":"g"', "event": ',"k":"e"'}
_TRACE_KEYS = (
    ("user_id", "u"),
    ("session_id", "se"),
    ("release", "r"),
    ("environment", "env"),
)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class CompactEncoder:
    """Recorded items -> one version-2 request body (JSON bytes, before compression)."""

    def __init__(self, builder: EventBuilder, sdk: str, sdk_version: str):
        self.builder = builder  # mask, size limit, default environment and release
        self.max_chars = builder.max_chars
        self._trace_defaults = builder.release is not None or builder.environment is not None
        self._head = f'{{"v":{WIRE_VERSION},"sdk":{_dumps(sdk)},"sv":{_dumps(sdk_version)},"b":'

        self._names: dict[str, str] = {}  # names repeat: each is escaped once
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}  # parameter names, escaped

    def encode(self, items: list[Any]) -> tuple[bytes, int]:
        """The body and the number of records in it; an item that fails is skipped."""
        base = min((_start(item) for item in items), default=0) // 1000
        parts: dict[str, list[str]] = {"o": [], "t": [], "sc": []}
        for item in items:
            try:
                if isinstance(item, Observation):
                    parts["o"].append(self.observation(item, base))
                elif isinstance(item, Trace):
                    parts["t"].append(self.trace(item, base))
                elif isinstance(item, Score):
                    parts["sc"].append(self.score(item, base))
            except Exception:
                self.builder.log_skipped(item)
        out = [self._head + str(base)]
        count = 0
        for key, records in parts.items():
            if records:
                out.append(f',"{key}":[{",".join(records)}]')
                count += len(records)
        out.append("}")
        return "".join(out).encode(), count

    # -- pieces -----------------------------------------------------------------------------
    def name(self, name: Any) -> str:
        text = self._names.get(name) if type(name) is str else None
        if text is None:
            text = _dumps(str(name)[:200])
            if len(self._names) < 10_000:
                self._names[str(name)] = text
        return text

    def fragment(self, value: Any) -> str:
        """JSON text of a captured value, masked when a mask is set."""
        if self.builder.mask is not None:
            return _dumps(self.builder.data(value))
        kind = type(value)
        if kind is Encoded:
            return value  # type: ignore[no-any-return]
        if kind is Call:
            return self.call(value)
        if kind is dict:  # metadata: a mapping of captured values
            inner = ",".join(f"{_string(k)}:{self.fragment(v)}" for k, v in value.items())
            return "{" + inner + "}"
        return self.scalar(value)

    def scalar(self, value: Any) -> str:
        kind = type(value)
        if kind is str and len(value) <= self.max_chars:
            return _string(value)
        if kind is int:
            return int.__repr__(value)
        if kind is bool:
            return "true" if value else "false"
        if value is None:
            return "null"
        if kind is float and math.isfinite(value):
            return float.__repr__(value)
        return encode(value, self.max_chars)  # long strings are cut, NaN becomes text

    def call(self, call: Call) -> str:
        """A call whose arguments are all scalars, written out without a dict between."""
        keys = self._keys.get(call.params)
        if keys is None:
            keys = self._keys[call.params] = tuple(
                f"{_string(name)}:" if name else "" for name in call.params
            )
        args = call.args
        if len(args) > len(keys) or call.kwargs:
            return encode(call.as_dict(), self.max_chars)
        scalar = self.scalar
        pairs = [key + scalar(value) for key, value in zip(keys, args, strict=False) if key]
        return "{" + ",".join(pairs) + "}"

    def observation(self, obs: Observation, base: int) -> str:
        start = obs.start_ns // 1000
        out = [
            f'{{"i":"{obs.id:016x}","t":"{obs.trace.id:032x}",'
            f'"n":{self.name(obs.name)},"s":{start - base}'
        ]
        if obs.end_ns:
            out.append(f',"d":{obs.end_ns // 1000 - start}')
        if obs.parent_id is not None:
            out.append(f',"p":"{obs.parent_id:016x}"')
        kind = _TYPES.get(obs.type)
        if kind:
            out.append(kind)
        if obs.input is not None:
            out.append(',"in":' + self.fragment(obs.input))
        if obs.output is not None:
            out.append(',"out":' + self.fragment(obs.output))
        if obs.has_extra:
            self._rare(obs, start, out)
        if obs.parent_id is None and (obs.trace.attrs or self._trace_defaults):
            attrs = self._trace_attrs(obs.trace)
            if attrs:
                out.append(',"tr":{' + attrs + "}")
        out.append("}")
        return "".join(out)

    def _rare(self, obs: Observation, start: int, out: list[str]) -> None:
        """Fields most spans never set; each left-out slot costs one getattr."""
        metadata = getattr(obs, "metadata", None)
        if metadata is not None:
            out.append(',"m":' + self.fragment(metadata))
        level = getattr(obs, "level", None)
        if level is not None:
            out.append(',"l":' + _dumps(level))
        status = getattr(obs, "status_message", None)
        if status is not None:
            out.append(',"sm":' + _dumps(str(status)[:10_000]))
        for attr, key in (("version", "ver"), ("model", "mo")):
            value = getattr(obs, attr, None)
            if value is not None:
                out.append(f',"{key}":' + _dumps(str(value)))
        params = getattr(obs, "model_parameters", None)
        if params is not None:
            out.append(',"mp":' + self.fragment(params))
        for attr, key, convert in (
            ("usage", "us", normalize_usage),
            ("cost", "c", normalize_cost),
            ("prompt", "pr", prompt_ref),
        ):
            value = getattr(obs, attr, None)
            if value is not None:
                value = convert(value)
                if value is not None:
                    out.append(f',"{key}":' + _dumps(value))
        first_token = getattr(obs, "completion_start_ns", None)
        if first_token:
            out.append(f',"ft":{first_token // 1000 - start}')

    def _trace_attrs(self, trace: Trace) -> str:
        """The trace's own attributes (what its root observation does not say already)."""
        attrs = trace.attrs or {}
        builder = self.builder
        out: list[str] = []
        if attrs.get("name"):
            out.append('"n":' + self.name(attrs["name"]))
        defaults = {"release": builder.release, "environment": builder.environment}
        for attr, key in _TRACE_KEYS:
            value = attrs.get(attr, defaults.get(attr))
            if value is not None:
                out.append(f'"{key}":' + _dumps(str(value)))
        if attrs.get("tags"):
            out.append('"tg":' + _dumps([str(t) for t in attrs["tags"]]))
        if attrs.get("metadata") is not None:
            out.append('"m":' + self.fragment(attrs["metadata"]))
        for attr, key in (("input", "in"), ("output", "out")):
            if attrs.get(attr) is not None:
                out.append(f'"{key}":' + self.fragment(attrs[attr]))
        if attrs.get("public") is not None:
            out.append('"pub":' + ("true" if attrs["public"] else "false"))
        return ",".join(out)

    def trace(self, trace: Trace, base: int) -> str:
        """A trace updated after its root went out: its root's times, input and output again."""
        root = trace.root
        start = root.start_ns // 1000
        out = [f'{{"t":"{trace.id:032x}","n":{self.name(root.name)},"s":{start - base}']
        if root.end_ns:
            out.append(f',"d":{root.end_ns // 1000 - start}')
        if root.input is not None:
            out.append(',"in":' + self.fragment(root.input))
        if root.output is not None:
            out.append(',"out":' + self.fragment(root.output))
        attrs = self._trace_attrs(trace)
        if attrs:
            out.append(',"tr":{' + attrs + "}")
        out.append("}")
        return "".join(out)

    def score(self, score: Score, base: int) -> str:
        value = score.value
        if not isinstance(value, bool | int | float | str):
            value = str(value)
        body: dict[str, Any] = {
            "i": f"{score.id:016x}",
            "n": str(score.name),
            "v": value,
            "ts": score.timestamp_ns // 1000 - base,
        }
        for attr, key in (
            ("trace_id", "t"),
            ("observation_id", "o"),
            ("session_id", "se"),
            ("data_type", "dt"),
        ):
            if getattr(score, attr) is not None:
                body[key] = getattr(score, attr)
        if score.comment is not None:
            body["c"] = self.builder.data(str(score.comment))
        return _dumps(body)


def _start(item: Any) -> int:
    if isinstance(item, Observation):
        return item.start_ns
    if isinstance(item, Trace):
        return item.root.start_ns
    if isinstance(item, Score):
        return item.timestamp_ns
    return 0
