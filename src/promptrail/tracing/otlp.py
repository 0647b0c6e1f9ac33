"""OTLP/HTTP protobuf export: promptrail's traces to any OpenTelemetry collector or backend.

`OtlpExporter` is an `Exporter` (see `exporter.py`): the worker hands it a batch of ingest
events on the export thread, and it turns them into one `ExportTraceServiceRequest`
there, so recording a span costs the caller what it always did. Observations become spans
with the attributes promptrail's own OTLP ingest reads back (`api/otlp.py`): the GenAI
conventions for model, parameters and usage, Langfuse's for input, output, metadata, cost
and the trace's name/user/session/tags, and `promptrail.prompt.*` for the prompt link.
Scores have no OTLP form and are not sent this way.

Configuration, by priority: arguments, then the standard variables
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+
`/v1/traces`), `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS`
(`key=value,...`, values URL-encoded), `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`,
`OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.

`FanoutExporter` sends each batch to several exporters (promptrail's ingest beside a
collector); a retried batch goes again only to those that have not taken it yet.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from promptrail.api import otlp as a
from promptrail.errors import PermanentError, RetryableError
from promptrail.tracing.exporter import SDK_NAME, Exporter, LazyHttpClient

log = logging.getLogger("promptrail.tracing")

STATUS_ERROR = 2
SPAN_KIND_INTERNAL = 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def endpoint_from_env() -> str | None:
    """The traces URL the standard OTEL_EXPORTER_OTLP_* variables name, if any."""
    exact = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if exact:
        return exact
    base = _env("OTEL_EXPORTER_OTLP_ENDPOINT")
    return None if base is None else base.rstrip("/") + a.TRACES_PATH


def parse_headers(text: str | None) -> dict[str, str]:
    """`key=value,key2=value2` (W3C baggage-like, values URL-encoded), as OTEL_* use."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(value.strip())
    return out


def _resource_attributes(service_name: str | None) -> dict[str, str]:
    attrs = parse_headers(_env("OTEL_RESOURCE_ATTRIBUTES"))
    name = service_name or _env("OTEL_SERVICE_NAME") or attrs.get("service.name")
    attrs["service.name"] = name or "unknown_service"
    attrs.setdefault("telemetry.sdk.name", SDK_NAME)
    attrs.setdefault("telemetry.sdk.language", "python")
    return attrs


def _ns(stamp: Any) -> int:
    """Our events carry ISO 8601 UTC times ("...Z"); OTLP wants Unix nanoseconds."""
    if not isinstance(stamp, str):
        return 0
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def span_attributes(body: Mapping[str, Any], trace: Mapping[str, Any] | None) -> dict[str, Any]:
    """The OTLP attributes of one observation (and of its trace, for a root)."""
    out: dict[str, Any] = {}
    kind = body.get("type") or "span"
    out[a.OBSERVATION_TYPE] = kind
    out[a.LF_TYPE] = kind
    if kind == "generation":
        out[a.GEN_AI_OPERATION] = "chat"
    model = body.get("model")
    if model:
        out[a.GEN_AI_REQUEST_MODEL] = model
        out[a.LF_MODEL] = model
    params = body.get("model_parameters")
    if isinstance(params, Mapping):
        for key, value in params.items():
            if isinstance(value, str | bool | int | float):
                out[a.GEN_AI_REQUEST + str(key)] = value
        out[a.LF_MODEL_PARAMETERS] = _json(params)
    usage = body.get("usage")
    if isinstance(usage, Mapping):
        for key, name in (
            ("input", a.GEN_AI_INPUT_TOKENS),
            ("output", a.GEN_AI_OUTPUT_TOKENS),
            ("total", "gen_ai.usage.total_tokens"),
            ("cached", "gen_ai.usage.cache_read.input_tokens"),
            ("reasoning", "gen_ai.usage.reasoning.output_tokens"),
        ):
            if usage.get(key) is not None:
                out[name] = int(usage[key])
        out[a.LF_USAGE] = _json(usage)
    cost = body.get("cost")
    if isinstance(cost, Mapping):
        out[a.LF_COST] = _json(cost)
    prompt = body.get("prompt")
    if isinstance(prompt, Mapping) and prompt.get("name"):
        out[a.PROMPT_NAME] = out[a.LF_PROMPT_NAME] = str(prompt["name"])
        if prompt.get("version") is not None:
            out[a.PROMPT_VERSION] = out[a.LF_PROMPT_VERSION] = int(prompt["version"])
        for key, name in (("label", a.PROMPT_LABEL), ("hash", a.PROMPT_HASH)):
            if prompt.get(key):
                out[name] = str(prompt[key])
    for key, name in (
        ("input", a.LF_INPUT),
        ("output", a.LF_OUTPUT),
        ("metadata", a.LF_METADATA),
    ):
        if body.get(key) is not None:
            out[name] = _json(body[key])
    if body.get("level"):
        out[a.LF_LEVEL] = body["level"]
    if body.get("status_message"):
        out[a.LF_STATUS_MESSAGE] = str(body["status_message"])
    if body.get("version"):
        out[a.LF_VERSION] = str(body["version"])
    if body.get("completion_start_time"):
        out[a.LF_COMPLETION_START] = _json(body["completion_start_time"])
    if trace:
        _trace_attributes(trace, out)
    return out


def _trace_attributes(trace: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, name in (
        ("name", a.LF_TRACE_NAME),
        ("user_id", a.USER_ID),
        ("session_id", a.SESSION_ID),
        ("release", a.LF_RELEASE),
        ("environment", a.LF_ENVIRONMENT),
    ):
        if trace.get(key):
            out[name] = str(trace[key])
    if trace.get("tags"):
        out[a.LF_TRACE_TAGS] = [str(t) for t in trace["tags"]]
    for key, name in (
        ("metadata", a.LF_TRACE_METADATA),
        ("input", a.LF_TRACE_INPUT),
        ("output", a.LF_TRACE_OUTPUT),
    ):
        if trace.get(key) is not None:
            out[name] = _json(trace[key])
    if trace.get("public") is not None:
        out[a.LF_TRACE_PUBLIC] = bool(trace["public"])


def _set_value(target: Any, value: Any) -> None:
    """Fill an OTLP AnyValue."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, list | tuple):
        values = target.array_value.values
        for item in value:
            _set_value(values.add(), item)
    else:
        target.string_value = str(value)


def _add_attributes(repeated: Any, attributes: Mapping[str, Any]) -> None:
    for key, value in attributes.items():
        kv = repeated.add()
        kv.key = key
        _set_value(kv.value, value)


def encode_request(
    events: list[dict[str, Any]], resource: Mapping[str, Any], scope_version: str
) -> tuple[bytes, int]:
    """(An ExportTraceServiceRequest for the observations among `events`, span count)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _add_attributes(resource_spans.resource.attributes, resource)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "promptrail"
    scope_spans.scope.version = scope_version
    count = 0
    for index, event in enumerate(events):
        if event.get("type") != "observation-create":
            continue
        body = event["body"]
        # The builder puts a trace's attributes right after its root observation.
        following = events[index + 1] if index + 1 < len(events) else None
        trace = None
        if (
            following is not None
            and following.get("type") == "trace-create"
            and following["body"].get("id") == body["trace_id"]
        ):
            trace = following["body"]
        span = scope_spans.spans.add()
        span.trace_id = bytes.fromhex(body["trace_id"])
        span.span_id = bytes.fromhex(body["id"])
        parent = body.get("parent_id")
        if parent:
            span.parent_span_id = bytes.fromhex(parent)
        span.name = str(body.get("name") or "")
        span.kind = SPAN_KIND_INTERNAL
        span.start_time_unix_nano = _ns(body.get("start_time"))
        span.end_time_unix_nano = _ns(body.get("end_time")) or span.start_time_unix_nano
        _add_attributes(span.attributes, span_attributes(body, trace))
        if body.get("level") == "ERROR":
            span.status.code = STATUS_ERROR
            span.status.message = str(body.get("status_message") or "")
        count += 1
    return request.SerializeToString(), count


class OtlpExporter:
    """OTLP/HTTP protobuf `POST` of each batch to a collector's traces endpoint."""

    def __init__(
        self,
        endpoint: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 10.0,
        compression: str | None = None,
        service_name: str | None = None,
    ):
        url = endpoint or endpoint_from_env()
        if not url:
            raise ValueError(
                "OTLP export needs an endpoint: pass otlp_endpoint= or set "
                "OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318)"
            )
        try:
            import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401
        except ImportError:
            raise ValueError(
                "OTLP export needs opentelemetry-proto: pip install 'promptrail[otel]'"
            ) from None
        self.url = url
        env_headers = _env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
        self.headers = {**parse_headers(env_headers), **(headers or {})}
        compression = compression or _env(
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"
        )
        self.gzip = (compression or "").lower() == "gzip"
        self.timeout = timeout
        self.resource = _resource_attributes(service_name)
        headers = {"Content-Type": a.PROTOBUF, "User-Agent": SDK_NAME, **self.headers}
        if self.gzip:
            headers["Content-Encoding"] = "gzip"
        self._client = LazyHttpClient(timeout, headers)
        self.last_error: str | None = None  # the collector's partial-success message

    def export(self, events: list[dict[str, Any]]) -> int:
        import httpx

        from promptrail import __version__

        payload, count = encode_request(events, self.resource, __version__)
        if not count:
            return 0
        if self.gzip:
            payload = gzip.compress(payload, compresslevel=5)
        try:
            response = self._client.get().post(self.url, content=payload)
        except httpx.HTTPError as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 413 and len(events) > 1:
            half = len(events) // 2
            return self.export(events[:half]) + self.export(events[half:])
        # OTLP/HTTP: these are worth a retry; any other 4xx is final.
        if status in (408, 429, 502, 503, 504) or status >= 500:
            raise RetryableError(f"HTTP {status} from {self.url}")
        if status >= 400:
            raise PermanentError(f"HTTP {status} from {self.url}: {response.text[:300]}")
        return self._rejected(response.content)

    def _rejected(self, content: bytes) -> int:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        try:
            reply = ExportTraceServiceResponse.FromString(content)
        except Exception:  # a collector answering something else on success: nothing refused
            return 0
        self.last_error = reply.partial_success.error_message or None
        return int(reply.partial_success.rejected_spans)

    def close(self) -> None:
        self._client.close()

    def after_fork(self) -> None:
        self._client.after_fork()


class FanoutExporter:
    """Each batch to every exporter; on a retry, only to those that have not taken it."""

    def __init__(self, exporters: list[Exporter]):
        self.exporters = exporters
        self._batch: int | None = None
        self._done: set[int] = set()

    def export(self, events: list[dict[str, Any]]) -> int:
        if id(events) != self._batch:  # the worker retries with the same list
            self._batch, self._done = id(events), set()
        rejected = 0
        failure: Exception | None = None
        for index, exporter in enumerate(self.exporters):
            if index in self._done:
                continue
            try:
                rejected = max(rejected, exporter.export(events))
            except RetryableError as exc:
                failure = failure or exc
                continue
            except PermanentError as exc:
                if len(self.exporters) == 1:
                    raise
                log.warning("promptrail: %s refused %d events: %s", exporter, len(events), exc)
            self._done.add(index)  # delivered, or refused for good: not sent again
        if failure is not None:
            raise failure
        self._batch = None  # done: a new list may reuse this one's id
        return rejected

    def close(self) -> None:
        for exporter in self.exporters:
            exporter.close()

    def after_fork(self) -> None:
        for exporter in self.exporters:
            after_fork = getattr(exporter, "after_fork", None)
            if after_fork is not None:
                after_fork()
