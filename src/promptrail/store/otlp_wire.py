"""OTLP trace requests (protobuf, or the OTLP/JSON mapping with hex ids) as plain spans.

`decode()` reads an `ExportTraceServiceRequest`; `store/otlp.py` maps the spans onto
promptrail's observations. A span with ids of the wrong length is rejected here and
counted (OTLP's partial success); everything else is kept for the mapping to judge.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from promptrail.api import otlp as a

_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)


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
