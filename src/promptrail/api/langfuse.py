"""Langfuse's public API shapes, as the official SDK sends and reads them, and the mapping
between them and promptrail's own (`api/registry.py`, `api/tracing.py`).

Only what a Langfuse client needs is modelled: the request bodies it sends (camelCase,
unknown fields ignored so a newer SDK still works) and plain-dict builders for the
responses it parses. Nothing here does I/O; the routes in `server/api/langfuse/` and the
importer (`gitops/langfuse_import.py`) both use it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from promptrail.api.tracing import ObservationOut, ScoreOut, TraceDetail, TraceSummary

PROJECT_ID = "promptrail"  # one registry is one Langfuse "project"
DEFAULT_ENVIRONMENT = "default"
LfType = Literal["text", "chat"]


class LfBody(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


# -- prompts -----------------------------------------------------------------------------------


class PromptCreate(LfBody):
    """POST /api/public/v2/prompts: a new version of a text or chat prompt."""

    name: str = Field(min_length=1, max_length=255)
    type: LfType = "text"
    prompt: str | list[dict[str, Any]]
    config: dict[str, Any] | None = None
    labels: list[str] = Field(default_factory=list)
    tags: list[str] | None = None
    commit_message: str | None = None


class LabelsUpdate(LfBody):
    """PATCH /api/public/v2/prompts/{name}/versions/{version}: labels to add to it."""

    new_labels: list[str]


def to_lf_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """promptrail chat messages -> Langfuse's (a placeholder is `{type, name}` there)."""
    out = []
    for message in messages:
        if message.get("role") == "placeholder":
            out.append({"type": "placeholder", "name": message["name"]})
        else:
            out.append(
                {"role": message["role"], "content": message["content"], "type": "chatmessage"}
            )
    return out


def from_lf_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Langfuse chat messages -> promptrail's; raises ValueError naming the bad message."""
    out = []
    for index, message in enumerate(messages):
        if message.get("type") == "placeholder":
            name = message.get("name")
            if not isinstance(name, str):
                raise ValueError(f"prompt[{index}]: a placeholder needs a `name`")
            out.append({"role": "placeholder", "name": name})
            continue
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or not isinstance(content, str):
            raise ValueError(f"prompt[{index}]: a chat message needs string `role` and `content`")
        out.append({"role": role, "content": content})
    return out


def prompt_body(
    published: dict[str, Any], commit_message: str | None, created_at: str | None = None
) -> dict[str, Any]:
    """A registry version (`PublishedVersion` as a dict) in Langfuse's Prompt shape."""
    chat = published["type"] == "chat"
    return {
        "id": f"{published['name']}@{published['version']}",
        "name": published["name"],
        "version": published["version"],
        "type": published["type"],
        "prompt": to_lf_messages(published.get("messages") or [])
        if chat
        else published.get("prompt", ""),
        "config": published.get("config") or {},
        "labels": published.get("labels", []),
        "tags": published.get("tags", []),
        "commitMessage": commit_message,
        "resolutionGraph": None,
        "createdAt": created_at,
        "updatedAt": created_at,
    }


# -- scores ------------------------------------------------------------------------------------

LF_DATA_TYPES = {"NUMERIC": "numeric", "BOOLEAN": "boolean", "CATEGORICAL": "categorical"}
LF_SOURCES = {"api": "API", "sdk": "API", "annotation": "ANNOTATION"}


class ScoreCreate(LfBody):
    """One score as POST /api/public/scores takes it (a list of these in SDK v5)."""

    id: str | None = None
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    dataset_run_id: str | None = None
    name: str
    value: bool | float | str
    data_type: str | None = None
    comment: str | None = None
    metadata: Any = None
    environment: str | None = None
    config_id: str | None = None
    timestamp: datetime | None = Field(
        default=None, validation_alias=AliasChoices("timestamp", "Timestamp")
    )

    def native(self) -> dict[str, Any]:
        """The body of a promptrail `score-create` event (`api/tracing.ScoreBody`)."""
        kind = LF_DATA_TYPES.get((self.data_type or "").upper())
        value = self.value
        if kind == "boolean" and isinstance(value, float | int) and not isinstance(value, bool):
            value = bool(value)
        metadata = self.metadata
        if self.dataset_run_id is not None:
            metadata = {
                **(metadata if isinstance(metadata, dict) else {}),
                "dataset_run_id": self.dataset_run_id,
            }
        return {
            "id": self.id,
            "name": self.name,
            "value": value,
            "data_type": kind,
            "trace_id": self.trace_id,
            "observation_id": self.observation_id,
            "session_id": self.session_id,
            "source": "api",
            "comment": self.comment,
            "timestamp": self.timestamp,
            "metadata": metadata,
        }


def _score_common(score: ScoreOut) -> dict[str, Any]:
    return {
        "id": score.id,
        "projectId": PROJECT_ID,
        "name": score.name,
        "source": LF_SOURCES.get(score.source, "API"),
        "timestamp": score.timestamp,
        "createdAt": score.timestamp,
        "updatedAt": score.timestamp,
        "environment": DEFAULT_ENVIRONMENT,
        "comment": score.comment,
        "metadata": None,
        "configId": None,
        "authorUserId": None,
        "queueId": None,
    }


def score_v2(score: ScoreOut) -> dict[str, Any]:
    """Langfuse's `Score` (GET /api/public/v2/scores, and a trace's scores)."""
    body = _score_common(score)
    body.update(
        dataType=score.data_type.upper(),
        traceId=score.trace_id,
        observationId=score.observation_id,
        sessionId=score.session_id,
        datasetRunId=None,
        value=score.value if score.value is not None else 0.0,
    )
    if score.data_type != "numeric":
        body["stringValue"] = score.string_value
    return body


def score_v3(score: ScoreOut) -> dict[str, Any]:
    """Langfuse's `ScoreV3` (GET /api/public/v3/scores): typed value and a subject."""
    body = _score_common(score)
    value: float | bool | str | None
    if score.data_type == "boolean":
        value = bool(score.value)
    elif score.data_type == "categorical":
        value = score.string_value
    else:
        value = score.value
    if score.observation_id is not None:
        subject: dict[str, Any] = {
            "kind": "observation",
            "id": score.observation_id,
            "traceId": score.trace_id,
        }
    elif score.trace_id is not None:
        subject = {"kind": "trace", "id": score.trace_id}
    else:
        subject = {"kind": "session", "id": score.session_id}
    body.update(dataType=score.data_type.upper(), value=value, subject=subject)
    return body


# -- legacy batch ingestion (POST /api/public/ingestion) ----------------------------------------

OBSERVATION_EVENTS = {
    "span": "span",
    "generation": "generation",
    "event": "event",
    "observation": None,  # the body says which
}
NATIVE_TYPES = {"span", "generation", "event"}
USAGE_KEYS = {  # Langfuse's usage spellings -> promptrail's Usage fields
    "input": "input",
    "output": "output",
    "total": "total",
    "promptTokens": "input",
    "completionTokens": "output",
    "totalTokens": "total",
    "prompt_tokens": "input",
    "completion_tokens": "output",
    "total_tokens": "total",
    "input_cached_tokens": "cached",
    "cache_read_input_tokens": "cached",
    "output_reasoning_tokens": "reasoning",
    "reasoning_tokens": "reasoning",
}


def _usage(body: dict[str, Any]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for source in (body.get("usage"), body.get("usageDetails")):
        if isinstance(source, dict):
            for key, value in source.items():
                field = USAGE_KEYS.get(key)
                if field is not None and isinstance(value, int) and not isinstance(value, bool):
                    found[field] = value
    return found or None


def _cost(body: dict[str, Any]) -> dict[str, float] | None:
    found: dict[str, float] = {}
    given = body.get("usage")
    usage: dict[str, Any] = given if isinstance(given, dict) else {}
    for key, field in (("inputCost", "input"), ("outputCost", "output"), ("totalCost", "total")):
        if isinstance(usage.get(key), int | float):
            found[field] = float(usage[key])
    details = body.get("costDetails")
    if isinstance(details, dict):
        for field in ("input", "output", "total"):
            if isinstance(details.get(field), int | float):
                found[field] = float(details[field])
    return found or None


def _trace(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": body.get("id"),
        "name": body.get("name"),
        "start_time": body.get("timestamp"),
        "user_id": body.get("userId"),
        "session_id": body.get("sessionId"),
        "tags": body.get("tags"),
        "metadata": body.get("metadata"),
        "release": body.get("release"),
        "environment": body.get("environment"),
        "input": body.get("input"),
        "output": body.get("output"),
        "public": body.get("public"),
    }


def _observation(body: dict[str, Any], kind: str | None) -> dict[str, Any]:
    kind = kind or str(body.get("type") or "span").lower()
    metadata = body.get("metadata")
    if kind not in NATIVE_TYPES:  # agent, tool, chain, ...: kept as spans, the kind noted
        metadata = {**(metadata if isinstance(metadata, dict) else {}), "langfuse_type": kind}
        kind = "span"
    prompt = None
    if isinstance(body.get("promptName"), str):
        prompt = {"name": body["promptName"], "version": body.get("promptVersion")}
    return {
        "id": body.get("id"),
        "trace_id": body.get("traceId") or body.get("id"),  # Langfuse: no trace id, own trace
        "parent_id": body.get("parentObservationId"),
        "type": kind,
        "name": body.get("name"),
        "start_time": body.get("startTime"),
        "end_time": body.get("endTime"),
        "completion_start_time": body.get("completionStartTime"),
        "level": body.get("level"),
        "status_message": body.get("statusMessage"),
        "version": body.get("version"),
        "input": body.get("input"),
        "output": body.get("output"),
        "metadata": metadata,
        "model": body.get("model"),
        "model_parameters": body.get("modelParameters"),
        "usage": _usage(body),
        "cost": _cost(body),
        "prompt": prompt,
    }


def native_event(event: Any) -> dict[str, Any] | None:
    """A Langfuse ingestion event as a promptrail ingest event (`api/tracing.py`).

    None for events with nothing to store (`sdk-log`). Anything malformed is passed on
    as is, so that promptrail's validation rejects it with a message naming the field.
    """
    if not isinstance(event, dict) or not isinstance(event.get("body"), dict):
        return event if isinstance(event, dict) else {"id": None, "type": None}
    kind, body = str(event.get("type") or ""), event["body"]
    out: dict[str, Any] = {"id": event.get("id"), "timestamp": event.get("timestamp")}
    if kind == "sdk-log":
        return None
    if kind == "trace-create":
        return {**out, "type": "trace-create", "body": _trace(body)}
    if kind == "score-create":
        try:
            score = ScoreCreate.model_validate(body).native()
        except ValueError:
            score = body
        return {**out, "type": "score-create", "body": score}
    prefix, _, action = kind.rpartition("-")
    if prefix and action in ("create", "update"):
        native = "observation-create" if action == "create" else "observation-update"
        observation = _observation(body, OBSERVATION_EVENTS.get(prefix, prefix))
        if action == "update" and prefix == "observation" and body.get("type") is None:
            observation["type"] = None
        return {**out, "type": native, "body": observation}
    return {**out, "type": kind, "body": body}  # refused by validation, by name


# -- traces and observations -------------------------------------------------------------------


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


def trace_body(
    trace: TraceSummary, observation_ids: list[str], score_ids: list[str]
) -> dict[str, Any]:
    """Langfuse's TraceWithDetails (the list); `trace_full` adds the objects."""
    return {
        "id": trace.id,
        "timestamp": trace.start_time,
        "name": trace.name,
        "input": trace.input,
        "output": trace.output,
        "sessionId": trace.session_id,
        "release": trace.release,
        "version": None,
        "userId": trace.user_id,
        "metadata": trace.metadata if isinstance(trace.metadata, dict) else None,
        "tags": trace.tags,
        "public": False,
        "environment": trace.environment or DEFAULT_ENVIRONMENT,
        "htmlPath": f"/traces/{trace.id}",
        "latency": _seconds(trace.latency_ms),
        "totalCost": trace.cost,
        "observations": observation_ids,
        "scores": score_ids,
    }


def trace_full(trace: TraceDetail) -> dict[str, Any]:
    """Langfuse's TraceWithFullDetails (GET /api/public/traces/{id})."""
    body = trace_body(trace, [], [])
    body["observations"] = [observation_body(o, trace) for o in trace.observations]
    body["scores"] = [score_v2(s) for s in trace.scores]
    return body


def observation_body(obs: ObservationOut, trace: TraceSummary | None = None) -> dict[str, Any]:
    """Langfuse's observation (the v1 view and v2's fields, which a client parses alike)."""
    usage = obs.usage.model_dump() if obs.usage else {}
    usage_details = {k: v for k, v in usage.items() if v}
    cost = obs.cost.model_dump(exclude_none=True) if obs.cost else {}
    prompt = obs.prompt
    return {
        "id": obs.id,
        "traceId": obs.trace_id,
        "projectId": PROJECT_ID,
        "type": obs.type.upper(),
        "name": obs.name,
        "startTime": obs.start_time,
        "endTime": obs.end_time,
        "completionStartTime": obs.completion_start_time,
        "parentObservationId": obs.parent_id,
        "isRootObservation": obs.parent_id is None,
        "level": obs.level,
        "statusMessage": obs.status_message,
        "version": obs.version,
        "environment": (trace.environment if trace else None) or DEFAULT_ENVIRONMENT,
        "userId": trace.user_id if trace else None,
        "sessionId": trace.session_id if trace else None,
        "traceName": trace.name if trace else None,
        "input": obs.input,
        "output": obs.output,
        "metadata": obs.metadata if isinstance(obs.metadata, dict) else {},
        "model": obs.model,
        "modelParameters": obs.model_parameters or {},
        "usage": {
            "input": usage.get("input", 0),
            "output": usage.get("output", 0),
            "total": usage.get("total", 0),
            "unit": "TOKENS",
        },
        "usageDetails": usage_details,
        "costDetails": cost,
        "totalCost": cost.get("total"),
        "calculatedTotalCost": cost.get("total"),
        "calculatedInputCost": cost.get("input"),
        "calculatedOutputCost": cost.get("output"),
        "promptId": f"{prompt.name}@{prompt.version}" if prompt and prompt.version else None,
        "promptName": prompt.name if prompt else None,
        "promptVersion": prompt.version if prompt else None,
        "latency": _seconds(obs.latency_ms),
        "timeToFirstToken": _seconds(obs.time_to_first_token_ms),
    }
