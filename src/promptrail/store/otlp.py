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
from promptrail.api.tracing import (
    Cost,
    ObservationBody,
    ObservationCreate,
    PromptRef,
    TraceBody,
    TraceCreate,
    Usage,
)
from promptrail.store.tables import labels, versions

NAME_MAX = 200
LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
STATUS_ERROR = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
    from google.protobuf.message import DecodeError
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
                trace_id, span_id = pb.trace_id.hex(), pb.span_id.hex()
                parent = pb.parent_span_id.hex() or None
                problem = _check_ids(trace_id, span_id, parent, pb.name)
                if problem:
                    out.rejected.append(problem)
                    continue
                out.spans.append(
                    Span(
                        trace_id,
                        span_id,
                        parent,
                        pb.name,
                        pb.start_time_unix_nano,
                        pb.end_time_unix_nano,
                        _pb_attributes(pb.attributes),
                        [
                            (e.name, e.time_unix_nano, _pb_attributes(e.attributes))
                            for e in pb.events
                        ],
                        pb.status.code,
                        pb.status.message,
                        resource,
                        scope,
                    )
                )
    return out


def _pb_attributes(pairs: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in pairs}


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
    value = value.strip().lower()
    if value and len(value) not in (16, 32):
        # Some senders put protobuf's base64 for bytes instead of the mapping's hex.
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
        if len(decoded) in (8, 16):
            return decoded.hex()
    return value


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
    if not isinstance(value, str):
        value = json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)
    return value[:limit]


def _parsed(value: Any) -> Any:
    """A JSON-encoded attribute (how Langfuse and OpenInference send objects) decoded."""
    if isinstance(value, str) and value[:1] in ("{", "[", '"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


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


def _pop_first(attrs: dict[str, Any], *keys: str) -> Any:
    found = None
    for key in keys:
        value = attrs.pop(key, None)
        if found is None and value is not None and value != "":
            found = value
    return found


def _generation_type(attrs: dict[str, Any]) -> str:
    declared = attrs.pop(a.OBSERVATION_TYPE, None) or attrs.pop(a.LF_TYPE, None)
    if isinstance(declared, str):
        kind = declared.lower()
        if kind in ("generation", "embedding"):
            return "generation"
        if kind == "event":
            return "event"
        if kind != "span":
            attrs["observation_type"] = kind  # agent, tool, chain...: kept, shown as a span
        return "span"
    oi_kind = attrs.get(a.OI_KIND)
    if isinstance(oi_kind, str):
        return "generation" if oi_kind.upper() in ("LLM", "EMBEDDING") else "span"
    operation = attrs.get(a.GEN_AI_OPERATION)
    if isinstance(operation, str):
        return "generation" if operation in a.GENERATION_OPERATIONS else "span"
    if a.GEN_AI_REQUEST_MODEL in attrs or a.OI_MODEL in attrs or a.LF_MODEL in attrs:
        return "generation"
    return "span"


def _usage(attrs: dict[str, Any]) -> Usage | None:
    given = _parsed(attrs.pop(a.LF_USAGE, None))
    values: dict[str, int | None] = {}
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
    pairs = {
        "input": (
            a.GEN_AI_INPUT_TOKENS,
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        ),
        "output": (
            a.GEN_AI_OUTPUT_TOKENS,
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        ),
        "total": ("gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total"),
        "cached": (
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
        "reasoning": (
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
        ),
    }
    for name, keys in pairs.items():
        found = _pop_first(attrs, *keys)
        if values.get(name) is None and found is not None:
            number = _count(found)
            if number is not None:
                values[name] = number
            else:
                attrs[keys[0]] = found  # not a count: kept in the metadata as sent
    values = {k: v for k, v in values.items() if v is not None}
    return Usage.model_construct(**values) if values else None


def _cost(attrs: dict[str, Any]) -> Cost | None:
    given = _parsed(attrs.pop(a.LF_COST, None))
    values: dict[str, float | None] = {}
    if isinstance(given, dict):
        for name in ("input", "output", "total"):
            values[name] = _float(given.get(name))
    elif isinstance(given, int | float) and not isinstance(given, bool):
        values["total"] = float(given)
    for name, key in (
        ("input", "llm.cost.prompt"),
        ("output", "llm.cost.completion"),
        ("total", "llm.cost.total"),
    ):
        found = _float(attrs.pop(key, None))
        if values.get(name) is None and found is not None:
            values[name] = found
    values = {k: v for k, v in values.items() if v is not None and v >= 0}
    return Cost.model_construct(**values) if values else None


def _parameters(attrs: dict[str, Any]) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    for key in (a.LF_MODEL_PARAMETERS, a.OI_PARAMETERS):
        given = _parsed(attrs.pop(key, None))
        if isinstance(given, dict):
            for name, value in given.items():
                params.setdefault(str(name), value)
    for key in [k for k in attrs if k.startswith(a.GEN_AI_REQUEST)]:
        if key != a.GEN_AI_REQUEST_MODEL:
            params.setdefault(key[len(a.GEN_AI_REQUEST) :], attrs.pop(key))
    return params or None


def _prompt(attrs: dict[str, Any]) -> PromptRef | None:
    name = _pop_first(attrs, a.PROMPT_NAME, a.LF_PROMPT_NAME)
    version = _pop_first(attrs, a.PROMPT_VERSION, a.LF_PROMPT_VERSION)
    label = attrs.pop(a.PROMPT_LABEL, None)
    digest = attrs.pop(a.PROMPT_HASH, None)
    if name is None:
        return None
    return PromptRef.model_construct(
        name=_text(name) or "",
        version=_int(version),
        label=_text(label, 63),
        hash=_text(digest, 64),
        resolved=None,
    )


def _io(attrs: dict[str, Any], indexed: dict[str, dict[str, Any]], events: list[Any]) -> Any:
    """(input, output) by priority: Langfuse, GenAI messages, indexed forms, events,
    OpenInference's input.value / output.value."""
    input_ = _parsed(attrs.pop(a.LF_INPUT, None))
    output = _parsed(attrs.pop(a.LF_OUTPUT, None))
    system = _parsed(attrs.pop(a.GEN_AI_SYSTEM_INSTRUCTIONS, None))
    messages_in = _parsed(attrs.pop(a.GEN_AI_INPUT_MESSAGES, None))
    messages_out = _parsed(attrs.pop(a.GEN_AI_OUTPUT_MESSAGES, None))
    if messages_in is not None and system is not None:
        messages_in = {"system_instructions": system, "messages": messages_in}
    input_ = input_ if input_ is not None else messages_in
    output = output if output is not None else messages_out
    for key, side in (
        ("llm.input_messages.", "in"),
        ("gen_ai.prompt.", "in"),
        ("llm.output_messages.", "out"),
        ("gen_ai.completion.", "out"),
    ):
        if key in indexed:
            if side == "in" and input_ is None:
                input_ = _messages(indexed[key])
            elif side == "out" and output is None:
                output = _messages(indexed[key])
    if (input_ is None or output is None) and events:
        from_events_in, from_events_out = _event_messages(events)
        input_ = input_ if input_ is not None else from_events_in
        output = output if output is not None else from_events_out
    old_in = _parsed(attrs.pop("gen_ai.prompt", None))
    old_out = _parsed(attrs.pop("gen_ai.completion", None))
    input_ = input_ if input_ is not None else old_in
    output = output if output is not None else old_out
    oi_in = _parsed(attrs.pop(a.OI_INPUT, None))
    oi_out = _parsed(attrs.pop(a.OI_OUTPUT, None))
    attrs.pop("input.mime_type", None)
    attrs.pop("output.mime_type", None)
    return (
        input_ if input_ is not None else oi_in,
        output if output is not None else oi_out,
    )


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


def _status(span: Span, attrs: dict[str, Any]) -> tuple[str | None, str | None]:
    level = attrs.pop(a.LF_LEVEL, None)
    level = level.upper() if isinstance(level, str) and level.upper() in LEVELS else None
    message = _text(attrs.pop(a.LF_STATUS_MESSAGE, None), 10_000) or span.status_message or None
    if span.status_code == STATUS_ERROR:
        level = level or "ERROR"
        if not message:
            for name, _, event in span.events:
                if name == "exception":
                    kind = event.get("exception.type") or "error"
                    message = f"{kind}: {event.get('exception.message') or ''}".rstrip(": ")
                    break
    return level, _text(message, 10_000)


def _split_indexed(attrs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Flattened attributes (`prefix.N.field`) taken out of attrs, grouped by prefix."""
    groups: dict[str, dict[str, Any]] = {}
    for key in [k for k in attrs if k.startswith(_INDEXED)]:
        for prefix in _INDEXED:
            if key.startswith(prefix):
                groups.setdefault(prefix, {})[key[len(prefix) :]] = attrs.pop(key)
                break
    return groups


def _trace_attrs(
    span: Span, attrs: dict[str, Any], indexed: dict[str, dict[str, Any]], into: TraceAttrs
) -> None:
    into.put("name", _text(attrs.pop(a.LF_TRACE_NAME, None)))
    into.put("user_id", _text(_pop_first(attrs, a.LF_USER_ID, a.USER_ID, "enduser.id")))
    into.put("session_id", _text(_pop_first(attrs, a.LF_SESSION_ID, a.SESSION_ID)))
    into.put("release", _text(attrs.pop(a.LF_RELEASE, None)))
    resource = span.resource
    environment = attrs.pop(a.LF_ENVIRONMENT, None) or resource.get(
        "deployment.environment.name", resource.get("deployment.environment")
    )
    into.put("environment", _text(environment))
    public = attrs.pop(a.LF_TRACE_PUBLIC, None)
    if isinstance(public, bool):
        into.put("public", public)
    into.put("input", _parsed(attrs.pop(a.LF_TRACE_INPUT, None)))
    into.put("output", _parsed(attrs.pop(a.LF_TRACE_OUTPUT, None)))
    for key in (a.LF_TRACE_TAGS, a.OI_TAGS):
        tags = _parsed(attrs.pop(key, None))
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",")]
        if isinstance(tags, list):
            for tag in tags:
                text = _text(tag)
                if text and text not in into.tags:
                    into.tags.append(text)
    metadata = _parsed(attrs.pop(a.LF_TRACE_METADATA, None))
    if isinstance(metadata, dict):
        into.metadata.update(metadata)
    for key, value in indexed.pop("langfuse.trace.metadata.", {}).items():
        into.metadata.setdefault(key, _parsed(value))


def _observation(span: Span, attrs: dict[str, Any], into: TraceAttrs) -> ObservationBody:
    type_ = _generation_type(attrs)
    indexed = _split_indexed(attrs)
    _trace_attrs(span, attrs, indexed, into)
    input_, output = _io(attrs, indexed, span.events)
    level, message = _status(span, attrs)
    model = _pop_first(
        attrs, a.LF_MODEL, a.GEN_AI_RESPONSE_MODEL, a.GEN_AI_REQUEST_MODEL, a.OI_MODEL
    )
    metadata: dict[str, Any] = {}
    given = _parsed(_pop_first(attrs, a.LF_METADATA, a.OI_METADATA))
    if isinstance(given, dict):
        metadata.update(given)
    elif given is not None:
        metadata["metadata"] = given
    for key, value in indexed.pop("langfuse.observation.metadata.", {}).items():
        metadata.setdefault(key, _parsed(value))
    completion_start = _iso_time(attrs.pop(a.LF_COMPLETION_START, None))
    version = _text(attrs.pop(a.LF_VERSION, None))
    body = ObservationBody.model_construct(
        id=span.span_id,
        trace_id=span.trace_id,
        parent_id=span.parent_id,
        type=type_,
        name=_text(span.name),
        start_time=_time(span.start_ns),
        end_time=_time(span.end_ns),
        completion_start_time=completion_start,
        level=level,
        status_message=message,
        version=version,
        input=input_,
        output=output,
        metadata=None,
        model=_text(model),
        model_parameters=_parameters(attrs),
        usage=_usage(attrs),
        cost=_cost(attrs),
        prompt=_prompt(attrs),
    )
    for rest in indexed.values():  # indexed attributes nobody read, e.g. tool calls
        attrs.update(rest)
    if attrs:
        metadata["attributes"] = attrs
    if span.resource:
        metadata["resource"] = span.resource
    if span.scope:
        metadata["scope"] = span.scope
    body.metadata = metadata or None
    return body


def to_events(spans: list[Span]) -> list[Any]:
    """Ingest events: an observation-create per span (its id the span's), a trace-create
    per trace that has something to say (id `trace-<trace id>`)."""
    events: list[Any] = []
    traces: dict[str, TraceAttrs] = {}
    roots: dict[str, Span] = {}
    bodies: dict[str, ObservationBody] = {}
    for span in spans:
        into = traces.get(span.trace_id)
        if into is None:
            into = traces[span.trace_id] = TraceAttrs()
        body = _observation(span, dict(span.attributes), into)
        bodies[span.span_id] = body
        if span.parent_id is None:
            roots[span.trace_id] = span
        events.append(
            ObservationCreate.model_construct(id=span.span_id, type="observation-create", body=body)
        )
    for trace_id, attrs in traces.items():
        values = attrs.values
        root = roots.get(trace_id)
        if root is not None:
            body = bodies[root.span_id]
            values.setdefault("name", body.name)
            values.setdefault("input", body.input)
            values.setdefault("output", body.output)
            start, end = body.start_time, body.end_time
        else:
            start = end = None
        if root is None and not values and not attrs.tags and not attrs.metadata:
            continue  # nothing to say yet: the observations' trace stub is enough
        trace = TraceBody.model_construct(
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
        events.append(
            TraceCreate.model_construct(id=f"trace-{trace_id}", type="trace-create", body=trace)
        )
    return events


# -- prompt links ------------------------------------------------------------------------------


def resolve_prompts(conn: Connection, events: list[Any]) -> None:
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
    hashes: dict[tuple[str, int], str] = {}
    if wanted:
        for name, version, digest in conn.execute(
            select(versions.c.name, versions.c.version, versions.c.hash).where(
                tuple_(versions.c.name, versions.c.version).in_(list(wanted))
            )
        ):
            hashes[(name, version)] = digest
    at_label: dict[tuple[str, str], int] = {}
    if by_label:
        for name, label, version in conn.execute(
            select(labels.c.name, labels.c.label, labels.c.version).where(
                tuple_(labels.c.name, labels.c.label).in_(list(by_label))
            )
        ):
            at_label[(name, label)] = version
    missing = {(n, v) for (n, lbl), v in at_label.items()} - set(hashes)
    if missing:
        for name, version, digest in conn.execute(
            select(versions.c.name, versions.c.version, versions.c.hash).where(
                tuple_(versions.c.name, versions.c.version).in_(list(missing))
            )
        ):
            hashes[(name, version)] = digest
    for ref in refs:
        if ref.version is None and ref.label:
            found = at_label.get((ref.name, ref.label))
            if found is not None:
                ref.version = found
        digest = hashes.get((ref.name, ref.version)) if ref.version is not None else None
        ref.resolved = digest is not None and (ref.hash is None or ref.hash == digest)
        if digest is not None and ref.hash is None:
            ref.hash = digest
