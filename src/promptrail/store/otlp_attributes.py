"""What an OTLP span says, by convention: GenAI (`gen_ai.*`, current and older indexed
forms, message events), OpenInference (`llm.*`, `input.value`), Langfuse (`langfuse.*`),
read into the usage, cost, prompt link, parameters and messages of an observation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from promptrail.api import otlp as a
from promptrail.store.otlp_wire import _count, _float, _int

NAME_MAX = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INDEXED = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "langfuse.observation.metadata.",
    "langfuse.trace.metadata.",
)


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


# -- mapping -----------------------------------------------------------------------------------


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
