"""OTLP in: the real OpenTelemetry SDK and exporter (protobuf) and an OTLP/JSON body, with
GenAI, OpenInference and Langfuse attributes, read back through the query API and the UI."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from .conftest import PROMPT, OtelServer, new_span_id, new_trace_id


@pytest.fixture
def provider(otel_server: OtelServer, request: pytest.FixtureRequest) -> Iterator[TracerProvider]:
    """An SDK TracerProvider exporting OTLP/HTTP protobuf to the server with the key pair,
    at the path the marker names (default /v1/traces)."""
    path = getattr(request, "param", "/v1/traces")
    made = TracerProvider(resource=Resource.create({"service.name": "otel-test-app"}))
    exporter = OTLPSpanExporter(endpoint=otel_server.url + path, headers=otel_server.basic)
    made.add_span_processor(SimpleSpanProcessor(exporter))
    yield made
    made.shutdown()


def _by_name(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in trace["observations"]}


@pytest.mark.parametrize("provider", ["/v1/traces", "/api/public/otel/v1/traces"], indirect=True)
def test_sdk_spans_with_genai_attributes_become_a_tree_with_a_priced_generation(
    otel_server: OtelServer, provider: TracerProvider
) -> None:
    tracer = provider.get_tracer("my-app")
    with tracer.start_as_current_span("handle request") as root:
        root.set_attribute("user.id", "user-7")
        root.set_attribute("session.id", "session-7")
        root.set_attribute("langfuse.trace.tags", ["otel", "beta"])
        with tracer.start_as_current_span("chat gpt-4o-mini") as llm:
            llm.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.request.temperature": 0.2,
                    "gen_ai.request.max_tokens": 64,
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 500,
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
                    ),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]
                    ),
                    "promptrail.prompt.name": PROMPT,
                    "promptrail.prompt.version": 2,
                }
            )
        with tracer.start_as_current_span("lookup") as tool:
            tool.set_status(Status(StatusCode.ERROR, "db timeout"))
        trace_id = f"{root.get_span_context().trace_id:032x}"
        root_id = f"{root.get_span_context().span_id:016x}"
    provider.force_flush()

    trace = otel_server.trace(trace_id, spans=3)
    assert trace["name"] == "handle request"
    assert trace["user_id"] == "user-7"
    assert trace["session_id"] == "session-7"
    assert sorted(trace["tags"]) == ["beta", "otel"]
    spans = _by_name(trace)
    assert spans["handle request"]["parent_id"] is None
    assert spans["chat gpt-4o-mini"]["parent_id"] == root_id
    assert spans["lookup"]["parent_id"] == root_id
    assert [o["depth"] for o in trace["observations"]] == [0, 1, 1]
    llm_out = spans["chat gpt-4o-mini"]
    assert llm_out["type"] == "generation"
    assert llm_out["model"] == "gpt-4o-mini"
    assert llm_out["model_parameters"] == {"temperature": 0.2, "max_tokens": 64}
    assert llm_out["usage"]["input"] == 1000
    assert llm_out["usage"]["output"] == 500
    assert llm_out["usage"]["total"] == 1500
    assert llm_out["cost_source"] == "computed"  # from the price table
    assert llm_out["cost"]["total"] > 0
    assert llm_out["input"][0]["parts"][0]["content"] == "hi"
    assert llm_out["output"][0]["role"] == "assistant"
    assert llm_out["prompt"]["name"] == PROMPT
    assert llm_out["prompt"]["version"] == 2
    assert llm_out["prompt"]["resolved"] is True
    assert llm_out["prompt"]["hash"] == otel_server.prompt_hash
    assert llm_out["latency_ms"] >= 0
    assert spans["lookup"]["level"] == "ERROR"
    assert spans["lookup"]["status_message"] == "db timeout"
    assert spans["handle request"]["metadata"]["resource"]["service.name"] == "otel-test-app"
    assert trace["prompts"][0]["version"] == 2
    assert trace["cost"] == pytest.approx(llm_out["cost"]["total"])


def _attr(key: str, value: Any) -> dict[str, Any]:
    """One OTLP/JSON KeyValue."""
    if isinstance(value, bool):
        wrapped: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        wrapped = {"intValue": str(value)}  # int64 travels as a string in OTLP/JSON
    elif isinstance(value, float):
        wrapped = {"doubleValue": value}
    elif isinstance(value, list):
        wrapped = {"arrayValue": {"values": [_attr("", v)["value"] for v in value]}}
    else:
        wrapped = {"stringValue": value}
    return {"key": key, "value": wrapped}


def _json_request(spans: list[dict[str, Any]], **resource: Any) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr(k, v) for k, v in resource.items()]},
                "scopeSpans": [{"scope": {"name": "hand-written"}, "spans": spans}],
            }
        ]
    }


def _json_span(
    trace_id: str,
    span_id: str,
    name: str,
    attributes: dict[str, Any],
    parent: str | None = None,
    start_ms: int = 0,
    duration_ms: int = 100,
    **extra: Any,
) -> dict[str, Any]:
    start = 1_700_000_000_000_000_000 + start_ms * 1_000_000
    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + duration_ms * 1_000_000),
        "attributes": [_attr(k, v) for k, v in attributes.items()],
        **extra,
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def _post(
    otel_server: OtelServer, body: Any, *, gzip_it: bool = False, media: str = "application/json"
) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": media, **otel_server.basic}
    if gzip_it:
        data = gzip.compress(data)
        headers["content-encoding"] = "gzip"
    return httpx.post(otel_server.url + "/v1/traces", content=data, headers=headers, timeout=10)


def test_an_otlp_json_body_with_openinference_and_langfuse_attributes(
    otel_server: OtelServer,
) -> None:
    trace_id, agent, llm, retriever = new_trace_id(), new_span_id(), new_span_id(), new_span_id()
    spans = [
        _json_span(
            trace_id,
            agent,
            "agent run",
            {
                "langfuse.trace.name": "support-bot",
                "langfuse.user.id": "user-lf",
                "langfuse.session.id": "session-lf",
                "langfuse.trace.tags": ["support"],
                "langfuse.trace.metadata.tier": "gold",
                "langfuse.environment": "staging",
                "langfuse.release": "v1.2.3",
                "langfuse.observation.type": "agent",
                "langfuse.observation.input": json.dumps({"question": "where is my order?"}),
            },
            duration_ms=900,
        ),
        _json_span(
            trace_id,
            llm,
            "ChatCompletion",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o",
                "llm.invocation_parameters": json.dumps({"temperature": 0}),
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "be brief",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "where is my order?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "on its way",
                "llm.token_count.prompt": 120,
                "llm.token_count.completion": 30,
                "llm.token_count.total": 150,
                "langfuse.observation.prompt.name": PROMPT,
                "langfuse.observation.prompt.version": 1,
                "langfuse.observation.cost_details": json.dumps({"input": 0.01, "output": 0.02}),
            },
            parent=agent,
            start_ms=100,
            duration_ms=500,
        ),
        _json_span(
            trace_id,
            retriever,
            "search orders",
            {
                "openinference.span.kind": "RETRIEVER",
                "input.value": "order 42",
                "output.value": json.dumps([{"id": 42, "status": "shipped"}]),
                "output.mime_type": "application/json",
            },
            parent=agent,
            start_ms=50,
            duration_ms=40,
        ),
    ]
    response = _post(otel_server, _json_request(spans, **{"service.name": "bot"}), gzip_it=True)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}  # full success: no partialSuccess

    trace = otel_server.trace(trace_id, spans=3)
    assert trace["name"] == "support-bot"
    assert trace["user_id"] == "user-lf"
    assert trace["session_id"] == "session-lf"
    assert trace["tags"] == ["support"]
    assert trace["environment"] == "staging"
    assert trace["release"] == "v1.2.3"
    assert trace["metadata"] == {"tier": "gold"}
    assert trace["input"] == {"question": "where is my order?"}
    assert trace["latency_ms"] == pytest.approx(900)
    # children in start order under the agent
    assert [o["name"] for o in trace["observations"]] == [
        "agent run",
        "search orders",
        "ChatCompletion",
    ]
    spans_out = _by_name(trace)
    agent_out = spans_out["agent run"]
    assert agent_out["type"] == "span"
    assert agent_out["metadata"]["attributes"]["observation_type"] == "agent"
    generation = spans_out["ChatCompletion"]
    assert generation["type"] == "generation"
    assert generation["model"] == "gpt-4o"
    assert generation["model_parameters"] == {"temperature": 0}
    assert generation["input"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "where is my order?"},
    ]
    assert generation["output"] == [{"role": "assistant", "content": "on its way"}]
    assert generation["usage"]["total"] == 150
    assert generation["cost_source"] == "given"
    assert generation["cost"]["total"] == pytest.approx(0.03)
    assert generation["prompt"]["version"] == 1
    assert generation["prompt"]["resolved"] is True
    retrieval = spans_out["search orders"]
    assert retrieval["input"] == "order 42"
    assert retrieval["output"] == [{"id": 42, "status": "shipped"}]

    with otel_server.query() as http:  # the session and user pages of the query API
        sessions = http.get("/api/v1/sessions/session-lf").json()
        assert [t["id"] for t in sessions["traces"]] == [trace_id]
        listed = http.get("/api/v1/traces", params={"user_id": "user-lf"}).json()["data"]
        assert [t["id"] for t in listed] == [trace_id]


def test_older_indexed_genai_forms_and_message_events(
    otel_server: OtelServer, provider: TracerProvider
) -> None:
    tracer = provider.get_tracer("openllmetry-like")
    with tracer.start_as_current_span("openai.chat") as old:
        old.set_attributes(
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "2+2?",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": "4",
                "gen_ai.completion.0.finish_reason": "stop",
                "gen_ai.usage.prompt_tokens": 10,
                "gen_ai.usage.completion_tokens": 2,
            }
        )
        with tracer.start_as_current_span("chat claude") as evented:
            evented.set_attributes(
                {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4"}
            )
            evented.add_event("gen_ai.system.message", {"content": "be terse"})
            evented.add_event("gen_ai.user.message", {"content": "hello"})
            evented.add_event(
                "gen_ai.choice", {"index": 0, "finish_reason": "end_turn", "message": "hi"}
            )
        with tracer.start_as_current_span("legacy content events") as legacy:
            legacy.set_attribute("gen_ai.operation.name", "text_completion")
            legacy.add_event("gen_ai.content.prompt", {"gen_ai.prompt": "say hi"})
            legacy.add_event("gen_ai.content.completion", {"gen_ai.completion": "hi"})
        trace_id = f"{old.get_span_context().trace_id:032x}"
    provider.force_flush()

    spans = _by_name(otel_server.trace(trace_id, spans=3))
    first = spans["openai.chat"]
    assert first["type"] == "generation"
    assert first["model"] == "gpt-4o-mini-2024-07-18"  # what answered, priced as gpt-4o-mini
    assert first["cost_source"] == "computed"
    assert first["input"] == [{"role": "user", "content": "2+2?"}]
    assert first["output"] == [{"role": "assistant", "content": "4", "finish_reason": "stop"}]
    assert first["usage"] == {"input": 10, "output": 2, "total": 12, "cached": 0, "reasoning": 0}
    second = spans["chat claude"]
    assert second["input"] == [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "hello"},
    ]
    assert second["output"][0]["role"] == "assistant"
    assert second["output"][0]["finish_reason"] == "end_turn"
    third = spans["legacy content events"]
    assert (third["input"], third["output"]) == ("say hi", "hi")


def test_an_unknown_prompt_version_is_stored_with_the_link_unresolved(
    otel_server: OtelServer,
) -> None:
    trace_id, known_label, unknown, wrong_hash = (
        new_trace_id(),
        new_span_id(),
        new_span_id(),
        new_span_id(),
    )
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    spans = [
        _json_span(
            trace_id,
            known_label,
            "by label",
            {**base, "promptrail.prompt.name": PROMPT, "promptrail.prompt.label": "production"},
        ),
        _json_span(
            trace_id,
            unknown,
            "unknown version",
            {
                **base,
                "langfuse.observation.prompt.name": PROMPT,
                "langfuse.observation.prompt.version": 99,
            },
            parent=known_label,
        ),
        _json_span(
            trace_id,
            wrong_hash,
            "other content",
            {
                **base,
                "promptrail.prompt.name": PROMPT,
                "promptrail.prompt.version": 2,
                "promptrail.prompt.hash": "f" * 64,
            },
            parent=known_label,
        ),
    ]
    assert _post(otel_server, _json_request(spans)).status_code == 200
    out = _by_name(otel_server.trace(trace_id, spans=3))
    assert out["by label"]["prompt"] == {
        "name": PROMPT,
        "version": 2,
        "label": "production",
        "hash": otel_server.prompt_hash,
        "resolved": True,
    }
    assert out["unknown version"]["prompt"]["version"] == 99
    assert out["unknown version"]["prompt"]["resolved"] is False
    assert out["other content"]["prompt"]["hash"] == "f" * 64
    assert out["other content"]["prompt"]["resolved"] is False
    with otel_server.query() as http:  # still found by prompt version
        found = http.get("/api/v1/traces", params={"prompt_name": PROMPT, "prompt_version": 99})
        assert [t["id"] for t in found.json()["data"]] == [trace_id]


def test_the_ui_trace_page_shows_an_otlp_trace(otel_server: OtelServer) -> None:
    trace_id, root, llm, stray = new_trace_id(), new_span_id(), new_span_id(), new_span_id()
    genai = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}
    spans = [
        _json_span(trace_id, root, "ui root", {"user.id": "ui-user", "session.id": "ui-s"}),
        _json_span(
            trace_id,
            llm,
            "ui llm",
            {
                **genai,
                "gen_ai.usage.input_tokens": 7,
                "promptrail.prompt.name": PROMPT,
                "promptrail.prompt.version": 2,
            },
            parent=root,
        ),
        _json_span(
            trace_id,
            stray,
            "ui unknown prompt",
            {**genai, "promptrail.prompt.name": PROMPT, "promptrail.prompt.version": 41},
            parent=root,
        ),
    ]
    assert _post(otel_server, _json_request(spans)).status_code == 200
    otel_server.trace(trace_id, spans=3)
    with httpx.Client(base_url=otel_server.url, timeout=10) as browser:
        login = browser.post("/login", data={"key": otel_server.reader, "next": "/"})
        assert login.status_code == 303
        page = browser.get(f"/traces/{trace_id}")
    assert page.status_code == 200
    html = page.text
    for text in ("ui root", "ui llm", "ui-user", "ui-s", "gpt-4o-mini", f"{PROMPT} v2", "v41"):
        assert text in html, text
    assert html.count("not held by this registry") == 1  # v41 only
