"""OTLP in: the real OpenTelemetry SDK and exporter (protobuf) and an OTLP/JSON body, with
GenAI, OpenInference and Langfuse attributes, read back through the query API and the UI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from .conftest import PROMPT, OtelServer


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
