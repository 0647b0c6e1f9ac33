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

from typing import Any

from sqlalchemy import Connection, select, tuple_

from promptrail.store.otlp_attributes import (
    SpanEvent,
    SpanObservation,
    SpanTrace,
    TraceAttrs,
    _cost,
    _generation_type,
    _io,
    _iso_time,
    _parameters,
    _parsed,
    _prompt,
    _Sorted,
    _text,
    _time,
    _usage,
)
from promptrail.store.otlp_wire import Span
from promptrail.store.tables import labels, versions

LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
STATUS_ERROR = 2


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
