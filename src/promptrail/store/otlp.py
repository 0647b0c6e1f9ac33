"""OTLP trace requests -> promptrail traces and observations, stored through the ingest path.

`decode()` reads an `ExportTraceServiceRequest` (protobuf, or the OTLP/JSON mapping with
hex ids) into plain spans; `to_events()` maps each span to an observation (a generation
when it is an LLM call) and collects trace attributes from every span of a trace. The
events then go to `store/ingest.py`'s `store_valid`, the native ingest's own writer, so
both APIs store the same rows at the same speed.

Bad input costs only itself: a span with ids of the wrong length is rejected and counted
(OTLP's partial success); a parent that is not in the batch is kept as a link (it may come
in a later batch; until then the span shows as a root); attribute values of unexpected
types are coerced where the meaning is clear and otherwise kept in the metadata.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, tuple_

from promptrail.api import otlp as a
from promptrail.store.tables import labels, versions

NAME_MAX = 200
LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
STATUS_ERROR = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)
_INDEXED = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "langfuse.observation.metadata.",
    "langfuse.trace.metadata.",
)


class UndecodableBody(ValueError):
    """The request body is not an OTLP trace request in the encoding it claims."""


@dataclass(slots=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    status_code: int
    status_message: str
    resource: dict[str, Any]
    scope: str | None


@dataclass
class Decoded:
    spans: list[Span] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one message per span left out


# What `store/ingest.py`'s Batch reads of an event (the attributes of the api/tracing.py
# models), as plain slotted objects: building pydantic models, even unvalidated, would cost
# more than the whole mapping of a span.


@dataclass(slots=True)
class SpanUsage:
    input: int | None = None
    output: int | None = None
    total: int | None = None
    cached: int | None = None
    reasoning: int | None = None


@dataclass(slots=True)
class SpanCost:
    input: float | None = None
    output: float | None = None
    total: float | None = None


@dataclass(slots=True)
class SpanPrompt:
    name: str
    version: int | None
    label: str | None
    hash: str | None
    resolved: bool | None = None  # see resolve_prompts


@dataclass(slots=True)
class SpanObservation:
    id: str
    trace_id: str
    parent_id: str | None
    type: str
    name: str | None
    start_time: datetime | None
    end_time: datetime | None
    completion_start_time: datetime | None
    level: str | None
    status_message: str | None
    version: str | None
    input: Any
    output: Any
    metadata: Any
    model: str | None
    model_parameters: dict[str, Any] | None
    usage: SpanUsage | None
    cost: SpanCost | None
    prompt: SpanPrompt | None


@dataclass(slots=True)
class SpanTrace:
    id: str
    name: str | None
    start_time: datetime | None
    end_time: datetime | None
    user_id: str | None
    session_id: str | None
    tags: list[str] | None
    metadata: Any
    release: str | None
    environment: str | None
    input: Any
    output: Any
    public: bool | None


@dataclass(slots=True)
class SpanEvent:
    id: str
    type: str  # "observation-create" | "trace-create"
    body: Any


# -- decoding ----------------------------------------------------------------------------------


def decode(data: bytes, content_type: str | None) -> Decoded:
    media = (content_type or a.PROTOBUF).split(";")[0].strip().lower()
    if media == a.JSON:
        return _decode_json(data)
    if media in (a.PROTOBUF, "application/protobuf", "application/octet-stream"):
        return _decode_protobuf(data)
    raise UndecodableBody(
        f"Content-Type {content_type!r}: send {a.PROTOBUF} or {a.JSON} (OTLP/HTTP)"
    )


def _decode_protobuf(data: bytes) -> Decoded:
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped,unused-ignore]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise UndecodableBody(f"the body is not an OTLP protobuf trace request: {exc}") from None
    out = Decoded()
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name or None
            for pb in scope_spans.spans:
                trace_id, span_id, parent = pb.trace_id, pb.span_id, pb.parent_span_id
                if (
                    len(trace_id) != 16
                    or len(span_id) != 8
                    or (parent and len(parent) != 8)
                    or trace_id == _ZERO_TRACE
                    or span_id == _ZERO_SPAN
                ):
                    ids = (trace_id.hex(), span_id.hex(), parent.hex() or None)
                    out.rejected.append(_check_ids(*ids, pb.name) or "invalid ids")
                    continue
                status = pb.status
                events = pb.events
                out.spans.append(
                    Span(
                        trace_id.hex(),
                        span_id.hex(),
                        parent.hex() if parent else None,
                        pb.name,
                        pb.start_time_unix_nano,
                        pb.end_time_unix_nano,
                        _pb_attributes(pb.attributes),
                        [(e.name, e.time_unix_nano, _pb_attributes(e.attributes)) for e in events]
                        if events
                        else [],
                        status.code,
                        status.message,
                        resource,
                        scope,
                    )
                )
    return out


_PLAIN = (str, int, float, bool)


def _pb_attributes(pairs: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in pairs:
        # ListFields: the one value set, in one call (the cheapest way through upb).
        fields = kv.value.ListFields()
        if not fields:
            out[kv.key] = None
            continue
        value = fields[0][1]
        out[kv.key] = value if type(value) in _PLAIN else _pb_value(kv.value)
    return out


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _get(node: dict[str, Any], camel: str, snake: str) -> Any:
    # The OTLP/JSON mapping uses lowerCamelCase; protobuf's JSON parsers accept both.
    value = node.get(camel)
    return node.get(snake) if value is None else value


def _decode_json(data: bytes) -> Decoded:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UndecodableBody(f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise UndecodableBody('expected an OTLP/JSON object {"resourceSpans": [...]}')
    out = Decoded()
    for r_index, resource_spans in enumerate(_list(_get(doc, "resourceSpans", "resource_spans"))):
        where = f"resourceSpans[{r_index}]"
        if not isinstance(resource_spans, dict):
            raise UndecodableBody(f"{where} is not an object")
        resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes"))
        for s_index, scope_spans in enumerate(
            _list(_get(resource_spans, "scopeSpans", "scope_spans"))
        ):
            if not isinstance(scope_spans, dict):
                raise UndecodableBody(f"{where}.scopeSpans[{s_index}] is not an object")
            scope = (scope_spans.get("scope") or {}).get("name") or None
            for index, raw in enumerate(_list(scope_spans.get("spans"))):
                here = f"{where}.scopeSpans[{s_index}].spans[{index}]"
                if not isinstance(raw, dict):
                    out.rejected.append(f"{here} is not an object")
                    continue
                span = _json_span(raw, resource, scope, here, out)
                if span is not None:
                    out.spans.append(span)
    return out


def _json_span(
    raw: dict[str, Any], resource: dict[str, Any], scope: str | None, here: str, out: Decoded
) -> Span | None:
    trace_id = _json_id(_get(raw, "traceId", "trace_id"))
    span_id = _json_id(_get(raw, "spanId", "span_id"))
    parent = _json_id(_get(raw, "parentSpanId", "parent_span_id")) or None
    name = raw.get("name")
    name = name if isinstance(name, str) else ""
    problem = _check_ids(trace_id, span_id, parent, name)
    if problem:
        out.rejected.append(f"{here}: {problem}")
        return None
    status = raw.get("status") or {}
    code = status.get("code", 0) if isinstance(status, dict) else 0
    if isinstance(code, str):
        code = {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
    events = []
    for event in _list(raw.get("events")):
        if isinstance(event, dict):
            events.append(
                (
                    str(event.get("name") or ""),
                    _int(_get(event, "timeUnixNano", "time_unix_nano")) or 0,
                    _json_attributes(event.get("attributes")),
                )
            )
    message = status.get("message") if isinstance(status, dict) else None
    return Span(
        trace_id,
        span_id,
        parent,
        name,
        _int(_get(raw, "startTimeUnixNano", "start_time_unix_nano")) or 0,
        _int(_get(raw, "endTimeUnixNano", "end_time_unix_nano")) or 0,
        _json_attributes(raw.get("attributes")),
        events,
        code if isinstance(code, int) else 0,
        message if isinstance(message, str) else "",
        resource,
        scope if isinstance(scope, str) else None,
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_id(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    text: str = value.strip().lower()
    if text and len(text) not in (16, 32):
        # Some senders put protobuf's base64 for bytes instead of the mapping's hex.
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return text
        if len(decoded) in (8, 16):
            return decoded.hex()
    return text


def _json_attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in _list(pairs):
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = _json_value(kv.get("value"))
    return out


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "string_value"):
        if key in value:
            return value[key]
    for key in ("intValue", "int_value"):
        if key in value:
            return _int(value[key])
    for key in ("doubleValue", "double_value"):
        if key in value:
            return _float(value[key])
    for key in ("boolValue", "bool_value"):
        if key in value:
            return bool(value[key])
    for key in ("arrayValue", "array_value"):
        if key in value:
            return [_json_value(v) for v in _list((value[key] or {}).get("values"))]
    for key in ("kvlistValue", "kvlist_value"):
        if key in value:
            return _json_attributes((value[key] or {}).get("values"))
    for key in ("bytesValue", "bytes_value"):
        if key in value:
            return value[key]
    return None


def _check_ids(trace_id: str, span_id: str, parent: str | None, name: str) -> str | None:
    what = f"span {name!r}" if name else "a span"
    if len(trace_id) != 32 or not _hex(trace_id) or trace_id == "0" * 32:
        return f"{what} has trace id {trace_id!r}: expected 16 bytes (32 hex digits), not zero"
    if len(span_id) != 16 or not _hex(span_id) or span_id == "0" * 16:
        return f"{what} has span id {span_id!r}: expected 8 bytes (16 hex digits), not zero"
    if parent is not None and (len(parent) != 16 or not _hex(parent)):
        return f"{what} has parent span id {parent!r}: expected 8 bytes (16 hex digits)"
    return None


def _hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


# -- mapping -----------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
            return int(number) if number.is_integer() else None
    return None


def _count(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any, limit: int = NAME_MAX) -> str | None:
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else None
    if text is None:
        text = json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)
    return text[:limit]


def _parsed(value: Any) -> Any:
    """A JSON-encoded attribute (how Langfuse and OpenInference send objects) decoded."""
    if type(value) is str and value[:1] in _JSON_START:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_JSON_START = frozenset('{["')


def _time(ns: int | None) -> datetime | None:
    if not ns:
        return None
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _iso_time(value: Any) -> datetime | None:
    value = _parsed(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _time(int(value))
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return None


def _nest(flat: dict[str, Any]) -> Any:
    """{"0.role": "user", "0.content": "hi"} -> [{"role": "user", "content": "hi"}]."""
    root: dict[str, Any] = {}
    for path, value in flat.items():
        node = root
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def _messages(indexed: dict[str, Any]) -> Any:
    """OpenInference's `llm.input_messages.N.message.*` or the older `gen_ai.prompt.N.*`."""
    nested = _nest(indexed)
    if not isinstance(nested, list):
        return nested
    out = []
    for item in nested:
        if isinstance(item, dict) and isinstance(item.get("message"), dict):
            item = item["message"]
        out.append(item)
    return out


@dataclass
class TraceAttrs:
    """What the spans of one trace say about it; the first value seen wins."""

    values: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def put(self, key: str, value: Any) -> None:
        if value is not None and key not in self.values:
            self.values[key] = value


# Where each known attribute goes: field -> its keys, best first (when several conventions
# say the same thing, the first present wins). One dict lookup per attribute keeps the
# mapping as cheap as the rest of the ingest path.
_ROUTES: dict[str, tuple[str, ...]] = {
    "type": (a.OBSERVATION_TYPE, a.LF_TYPE),
    "model": (a.LF_MODEL, a.GEN_AI_RESPONSE_MODEL, a.GEN_AI_REQUEST_MODEL, a.OI_MODEL),
    "parameters": (a.LF_MODEL_PARAMETERS, a.OI_PARAMETERS),
    "usage": (a.LF_USAGE,),
    "usage.input": (a.GEN_AI_INPUT_TOKENS, "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"),
    "usage.output": (
        a.GEN_AI_OUTPUT_TOKENS,
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ),
    "usage.total": ("gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total"),
    "usage.cached": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "usage.reasoning": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning",
    ),
    "cost": (a.LF_COST,),
    "cost.input": ("llm.cost.prompt",),
    "cost.output": ("llm.cost.completion",),
    "cost.total": ("llm.cost.total",),
    "prompt.name": (a.PROMPT_NAME, a.LF_PROMPT_NAME),
    "prompt.version": (a.PROMPT_VERSION, a.LF_PROMPT_VERSION),
    "prompt.label": (a.PROMPT_LABEL,),
    "prompt.hash": (a.PROMPT_HASH,),
    "input": (a.LF_INPUT, a.GEN_AI_INPUT_MESSAGES),
    "output": (a.LF_OUTPUT, a.GEN_AI_OUTPUT_MESSAGES),
    "input.old": ("gen_ai.prompt",),  # after the indexed forms and events
    "output.old": ("gen_ai.completion",),
    "input.value": (a.OI_INPUT,),  # last
    "output.value": (a.OI_OUTPUT,),
    "system": (a.GEN_AI_SYSTEM_INSTRUCTIONS,),
    "dropped": ("input.mime_type", "output.mime_type"),
    "level": (a.LF_LEVEL,),
    "status_message": (a.LF_STATUS_MESSAGE,),
    "metadata": (a.LF_METADATA, a.OI_METADATA),
    "completion_start": (a.LF_COMPLETION_START,),
    "version": (a.LF_VERSION,),
    "trace.name": (a.LF_TRACE_NAME,),
    "trace.user_id": (a.LF_USER_ID, a.USER_ID, "enduser.id"),
    "trace.session_id": (a.LF_SESSION_ID, a.SESSION_ID),
    "trace.release": (a.LF_RELEASE,),
    "trace.environment": (a.LF_ENVIRONMENT,),
    "trace.public": (a.LF_TRACE_PUBLIC,),
    "trace.input": (a.LF_TRACE_INPUT,),
    "trace.output": (a.LF_TRACE_OUTPUT,),
    "trace.metadata": (a.LF_TRACE_METADATA,),
    "trace.tags": (a.LF_TRACE_TAGS,),
    "trace.tags.oi": (a.OI_TAGS,),
}
# key -> (field, rank, group): a group ("usage", "trace"...) no attribute names is skipped.
_FIELD_OF = {
    key: (name, rank, name.split(".")[0])
    for name, keys in _ROUTES.items()
    for rank, key in enumerate(keys)
}
# Read to decide the type, and kept in the metadata as sent.
_KEPT = frozenset({a.OI_KIND, a.GEN_AI_OPERATION})
_PREFIXED = (a.GEN_AI_REQUEST, *_INDEXED)


class _Sorted:
    """A span's attributes sorted into fields, request parameters, indexed groups (`prefix`
    -> {rest of the key: value}) and the rest (kept as metadata)."""

    __slots__ = ("get", "groups", "indexed", "keys", "parameters", "ranks", "rest", "values")

    def __init__(self, attributes: dict[str, Any]) -> None:
        values: dict[str, Any] = {}
        ranks: dict[str, int] = {}
        keys: dict[str, str] = {}
        rest: dict[str, Any] = {}
        parameters: dict[str, Any] = {}
        indexed: dict[str, dict[str, Any]] = {}
        groups: set[str] = set()
        for key, value in attributes.items():
            routed = _FIELD_OF.get(key)
            if routed is not None:
                if value is None or value == "":
                    continue
                name, rank, group = routed
                if rank < ranks.get(name, 99):
                    values[name], ranks[name], keys[name] = value, rank, key
                    groups.add(group)
                continue
            if key in _KEPT:
                rest[key] = value
            elif key.startswith(_PREFIXED):
                if key.startswith(a.GEN_AI_REQUEST):
                    parameters[key[len(a.GEN_AI_REQUEST) :]] = value
                else:
                    for prefix in _INDEXED:
                        if key.startswith(prefix):
                            indexed.setdefault(prefix, {})[key[len(prefix) :]] = value
                            break
            else:
                rest[key] = value
        self.values, self.ranks, self.keys, self.groups = values, ranks, keys, groups
        self.rest, self.parameters, self.indexed = rest, parameters, indexed
        self.get = values.get  # the hot accessor, without a Python frame

    def keep(self, name: str) -> None:
        """A field whose value could not be read as what it means: kept as sent."""
        if name in self.values:
            self.rest[self.keys[name]] = self.values[name]


def _generation_type(attrs: _Sorted) -> str:
    declared = attrs.get("type")
    if isinstance(declared, str):
        kind = declared.lower()
        if kind in ("generation", "embedding"):
            return "generation"
        if kind == "event":
            return "event"
        if kind != "span":
            attrs.rest["observation_type"] = kind  # agent, tool, chain...: shown as a span
        return "span"
    oi_kind = attrs.rest.get(a.OI_KIND)
    if isinstance(oi_kind, str):
        return "generation" if oi_kind.upper() in ("LLM", "EMBEDDING") else "span"
    operation = attrs.rest.get(a.GEN_AI_OPERATION)
    if isinstance(operation, str):
        return "generation" if operation in a.GENERATION_OPERATIONS else "span"
    return "generation" if "model" in attrs.values else "span"


_USAGE_FIELDS = tuple((name, "usage." + name) for name in SpanUsage.__dataclass_fields__)
_COST_FIELDS = tuple((name, "cost." + name) for name in SpanCost.__dataclass_fields__)


def _usage(attrs: _Sorted) -> SpanUsage | None:
    if "usage" not in attrs.groups:
        return None
    values: dict[str, int | None] = {}
    given = _parsed(attrs.get("usage"))
    if isinstance(given, dict):
        for key, raw in given.items():
            number, name = _count(raw), str(key).lower()
            if "reasoning" in name:
                values.setdefault("reasoning", number)
            elif "cache_read" in name or "cached" in name:
                values.setdefault("cached", number)
            elif name in ("input", "prompt_tokens", "input_tokens"):
                values.setdefault("input", number)
            elif name in ("output", "completion_tokens", "output_tokens"):
                values.setdefault("output", number)
            elif name in ("total", "total_tokens"):
                values.setdefault("total", number)
    elif given is not None:
        attrs.keep("usage")
    for name, field_name in _USAGE_FIELDS:
        found = attrs.get(field_name)
        if found is None or values.get(name) is not None:
            continue
        number = _count(found)
        if number is None:
            attrs.keep(field_name)  # not a count: kept in the metadata as sent
        else:
            values[name] = number
    values = {k: v for k, v in values.items() if v is not None}
    return SpanUsage(**values) if values else None


def _cost(attrs: _Sorted) -> SpanCost | None:
    if "cost" not in attrs.groups:
        return None
    values: dict[str, float | None] = {}
    given = _parsed(attrs.get("cost"))
    if isinstance(given, dict):
        for name in ("input", "output", "total"):
            values[name] = _float(given.get(name))
    elif isinstance(given, int | float) and not isinstance(given, bool):
        values["total"] = float(given)
    for name, field_name in _COST_FIELDS:
        found = _float(attrs.get(field_name))
        if values.get(name) is None and found is not None:
            values[name] = found
    values = {k: v for k, v in values.items() if v is not None and v >= 0}
    return SpanCost(**values) if values else None


def _parameters(attrs: _Sorted) -> dict[str, Any] | None:
    params = attrs.parameters
    if "parameters" not in attrs.groups:
        return params or None
    given = _parsed(attrs.get("parameters"))
    if isinstance(given, dict):
        for name, value in given.items():
            params.setdefault(str(name), value)
    elif given is not None:
        attrs.keep("parameters")
    return params or None


def _prompt(attrs: _Sorted) -> SpanPrompt | None:
    name = attrs.get("prompt.name")
    if name is None:
        return None
    return SpanPrompt(
        _text(name) or "",
        _int(attrs.get("prompt.version")),
        _text(attrs.get("prompt.label"), 63),
        _text(attrs.get("prompt.hash"), 64),
    )


def _io(attrs: _Sorted, events: list[Any]) -> tuple[Any, Any]:
    """(input, output) by priority: Langfuse, GenAI messages, indexed forms, events, the
    older single attributes, OpenInference's input.value / output.value."""
    input_ = _parsed(attrs.get("input"))
    output = _parsed(attrs.get("output"))
    system = attrs.get("system")
    if system is not None and attrs.ranks.get("input") == 1:  # GenAI's messages
        input_ = {"system_instructions": _parsed(system), "messages": input_}
    indexed = attrs.indexed
    if input_ is None:
        group = indexed.pop("llm.input_messages.", None) or indexed.pop("gen_ai.prompt.", None)
        input_ = None if group is None else _messages(group)
    if output is None:
        group = indexed.pop("llm.output_messages.", None) or indexed.pop("gen_ai.completion.", None)
        output = None if group is None else _messages(group)
    if (input_ is None or output is None) and events:
        from_events_in, from_events_out = _event_messages(events)
        input_ = input_ if input_ is not None else from_events_in
        output = output if output is not None else from_events_out
    for name in ("input.old", "input.value"):
        if input_ is None:
            input_ = _parsed(attrs.get(name))
    for name in ("output.old", "output.value"):
        if output is None:
            output = _parsed(attrs.get(name))
    return input_, output


_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _event_messages(events: list[Any]) -> tuple[Any, Any]:
    """Messages sent as span events: GenAI's per-message events and `gen_ai.choice`, the
    older `gen_ai.content.prompt`/`completion`, or an operation-details event."""
    inputs: list[Any] = []
    outputs: list[Any] = []
    prompt = completion = None
    for name, _, attrs in events:
        if name in _EVENT_ROLES or name == "gen_ai.choice":
            body = _parsed(attrs.get("gen_ai.event.content", attrs.get("content")))
            message = dict(body) if isinstance(body, dict) else {}
            if body is not None and not isinstance(body, dict):
                message["content"] = body
            for key, value in attrs.items():
                if key not in ("gen_ai.event.content", "content", a.GEN_AI_SYSTEM):
                    message.setdefault(key.removeprefix("gen_ai."), _parsed(value))
            if name == "gen_ai.choice":
                message.setdefault("role", "assistant")
                outputs.append(message)
            else:
                message.setdefault("role", _EVENT_ROLES[name])
                inputs.append(message)
        elif name == "gen_ai.content.prompt":
            prompt = _parsed(attrs.get("gen_ai.prompt"))
        elif name == "gen_ai.content.completion":
            completion = _parsed(attrs.get("gen_ai.completion"))
        elif name == "gen_ai.client.inference.operation.details":
            prompt = prompt or _parsed(attrs.get(a.GEN_AI_INPUT_MESSAGES))
            completion = completion or _parsed(attrs.get(a.GEN_AI_OUTPUT_MESSAGES))
    return (inputs or prompt or None), (outputs or completion or None)


def _status(span: Span, attrs: _Sorted) -> tuple[str | None, str | None]:
    level = attrs.get("level")
    level = level.upper() if isinstance(level, str) and level.upper() in LEVELS else None
    message = _text(attrs.get("status_message"), 10_000) or span.status_message or None
    if span.status_code == STATUS_ERROR:
        level = level or "ERROR"
        if not message:
            for name, _, event in span.events:
                if name == "exception":
                    kind = event.get("exception.type") or "error"
                    message = f"{kind}: {event.get('exception.message') or ''}".rstrip(": ")
                    break
    return level, _text(message, 10_000)


_TRACE_TEXT = tuple(
    (name, "trace." + name) for name in ("name", "user_id", "session_id", "release")
)


def _trace_attrs(span: Span, attrs: _Sorted, into: TraceAttrs) -> None:
    if "environment" not in into.values and span.resource:
        resource = span.resource
        environment = resource.get(
            "deployment.environment.name", resource.get("deployment.environment")
        )
        if environment is not None and "trace.environment" not in attrs.values:
            into.put("environment", _text(environment))
    if "trace" not in attrs.groups:
        return
    get = attrs.get
    for name, field_name in _TRACE_TEXT:
        value = get(field_name)
        if value is not None:
            into.put(name, _text(value))
    environment = get("trace.environment")
    if environment is not None:
        into.put("environment", _text(environment))
    public = get("trace.public")
    if isinstance(public, bool):
        into.put("public", public)
    into.put("input", _parsed(get("trace.input")))
    into.put("output", _parsed(get("trace.output")))
    for name in ("trace.tags", "trace.tags.oi"):
        tags = _parsed(get(name))
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",")]
        if isinstance(tags, list):
            for tag in tags:
                text = _text(tag)
                if text and text not in into.tags:
                    into.tags.append(text)
    metadata = _parsed(get("trace.metadata"))
    if isinstance(metadata, dict):
        into.metadata.update(metadata)
    for key, value in attrs.indexed.pop("langfuse.trace.metadata.", {}).items():
        into.metadata.setdefault(key, _parsed(value))


def _observation(span: Span, into: TraceAttrs, entry: bool) -> SpanObservation:
    """`entry`: the span's parent is not in this request (a service's first span): it
    carries the resource's attributes in its metadata, the others do not repeat them."""
    attrs = _Sorted(span.attributes)
    type_ = _generation_type(attrs)
    _trace_attrs(span, attrs, into)
    input_, output = _io(attrs, span.events)
    level, message = _status(span, attrs)
    metadata: dict[str, Any] = {}
    given = _parsed(attrs.get("metadata"))
    if isinstance(given, dict):
        metadata.update(given)
    elif given is not None:
        metadata["metadata"] = given
    for key, value in attrs.indexed.pop("langfuse.observation.metadata.", {}).items():
        metadata.setdefault(key, _parsed(value))
    body = SpanObservation(
        id=span.span_id,
        trace_id=span.trace_id,
        parent_id=span.parent_id,
        type=type_,
        name=_text(span.name),
        start_time=_time(span.start_ns),
        end_time=_time(span.end_ns),
        completion_start_time=_iso_time(attrs.get("completion_start")),
        level=level,
        status_message=message,
        version=_text(attrs.get("version")),
        input=input_,
        output=output,
        metadata=None,
        model=_text(attrs.get("model")),
        model_parameters=_parameters(attrs),
        usage=_usage(attrs),
        cost=_cost(attrs),
        prompt=_prompt(attrs),
    )
    rest = attrs.rest
    for group in attrs.indexed.values():  # indexed attributes nobody read, e.g. tool calls
        rest.update(group)
    if rest:
        metadata["attributes"] = rest
    if entry and span.resource:
        metadata["resource"] = span.resource
    if span.scope and entry:
        metadata["scope"] = span.scope
    body.metadata = metadata or None
    return body


def to_events(spans: list[Span]) -> list[SpanEvent]:
    """Ingest events: an observation-create per span (its id the span's), a trace-create
    per trace that has something to say (id `trace-<trace id>`)."""
    events: list[SpanEvent] = []
    traces: dict[str, TraceAttrs] = {}
    roots: dict[str, SpanObservation] = {}
    here = {span.span_id for span in spans}
    for span in spans:
        into = traces.get(span.trace_id)
        if into is None:
            into = traces[span.trace_id] = TraceAttrs()
        body = _observation(span, into, span.parent_id not in here)
        if span.parent_id is None:
            roots[span.trace_id] = body
        events.append(SpanEvent(span.span_id, "observation-create", body))
    for trace_id, attrs in traces.items():
        values = attrs.values
        root = roots.get(trace_id)
        if root is not None:
            values.setdefault("name", root.name)
            values.setdefault("input", root.input)
            values.setdefault("output", root.output)
            start, end = root.start_time, root.end_time
        else:
            start = end = None
        if root is None and not values and not attrs.tags and not attrs.metadata:
            continue  # nothing to say yet: the observations' trace stub is enough
        trace = SpanTrace(
            id=trace_id,
            name=values.get("name"),
            start_time=start,
            end_time=end,
            user_id=values.get("user_id"),
            session_id=values.get("session_id"),
            tags=attrs.tags or None,
            metadata=attrs.metadata or None,
            release=values.get("release"),
            environment=values.get("environment"),
            input=values.get("input"),
            output=values.get("output"),
            public=values.get("public"),
        )
        events.append(SpanEvent(f"trace-{trace_id}", "trace-create", trace))
    return events


# -- prompt links ------------------------------------------------------------------------------


def resolve_prompts(conn: Connection, events: list[SpanEvent]) -> None:
    """Mark each prompt link resolved (the registry holds that version; its hash and, for a
    label, its version are filled in) or unresolved (kept as sent)."""
    refs = [
        e.body.prompt
        for e in events
        if e.type == "observation-create" and e.body.prompt is not None
    ]
    if not refs:
        return
    wanted = {(r.name, r.version) for r in refs if r.version is not None}
    by_label = {(r.name, r.label) for r in refs if r.version is None and r.label}
    hashes = _hashes(conn, wanted)
    at_label: dict[tuple[str, str], int] = {}
    if by_label:
        for name, label, version in conn.execute(
            select(labels.c.name, labels.c.label, labels.c.version).where(
                tuple_(labels.c.name, labels.c.label).in_(list(by_label))
            )
        ):
            at_label[(name, label)] = version
    hashes |= _hashes(conn, {(n, v) for (n, _), v in at_label.items()} - set(hashes))
    for ref in refs:
        if ref.version is None and ref.label:
            found = at_label.get((ref.name, ref.label))
            if found is not None:
                ref.version = found
        digest = hashes.get((ref.name, ref.version)) if ref.version is not None else None
        ref.resolved = digest is not None and (ref.hash is None or ref.hash == digest)
        if digest is not None and ref.hash is None:
            ref.hash = digest


def _hashes(conn: Connection, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """(name, version) -> content hash, for the versions the registry holds."""
    if not wanted:
        return {}
    query = select(versions.c.name, versions.c.version, versions.c.hash).where(
        tuple_(versions.c.name, versions.c.version).in_(list(wanted))
    )
    return {(name, version): digest for name, version, digest in conn.execute(query)}
