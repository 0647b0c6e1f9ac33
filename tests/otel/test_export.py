"""OTLP out: promptrail's tracer exporting OTLP/HTTP protobuf to a local receiver, beside its
own ingest, and into promptrail's own OTLP ingest (read back the same)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import promptrail.tracing.tracer as tracer_module
from promptrail.tracing import FanoutExporter, MemoryExporter, OtlpExporter, Tracer, observe

from .conftest import PROMPT, OtelServer
from .receiver import OtlpReceiver


class Prompt:
    """What `Client.get_prompt` returns, as far as the tracer cares."""

    name, version, label = PROMPT, 2, "production"

    def __init__(self, digest: str) -> None:
        self.hash = digest


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as made:
        yield made


@pytest.fixture
def installed() -> Iterator[list[Tracer]]:
    """Tracers installed as the process-wide one in turn; shut down after the test."""
    made: list[Tracer] = []
    previous = tracer_module.active
    yield made
    for tracer in made:
        tracer.shutdown(timeout=2)
    tracer_module.active = previous


def _install(installed: list[Tracer], *args: Any, **kwargs: Any) -> Tracer:
    tracer = Tracer(*args, flush_interval=0.05, max_retry_delay=0.2, **kwargs)
    installed.append(tracer)
    tracer_module.active = tracer
    return tracer


def _run_app(digest: str = "c" * 64) -> None:
    """A small traced app: a root span, a generation under it with a prompt, an error."""

    @observe(name="answer")
    def answer(question: str) -> str:
        tracer = tracer_module.get_tracer()
        tracer.update_current_trace(
            user_id="user-1", session_id="session-1", tags=["otlp"], metadata={"plan": "pro"}
        )
        with tracer.start_generation(
            "llm call",
            model="gpt-4o-mini",
            model_parameters={"temperature": 0.3, "max_tokens": 20},
            input=[{"role": "user", "content": question}],
            prompt=Prompt(digest),
        ) as generation:
            generation.update(
                output={"role": "assistant", "content": "42"},
                usage={"input": 1000, "output": 10},
            )
        try:
            with tracer.start_span("tool"):
                raise RuntimeError("tool broke")
        except RuntimeError:
            pass
        return "42"

    answer("what is six times seven?")


def test_the_tracer_exports_every_span_with_genai_and_prompt_attributes(
    receiver: OtlpReceiver, installed: list[Tracer]
) -> None:
    tracer = _install(
        installed,
        otlp_endpoint=receiver.url + "/v1/traces",
        otlp_headers={"x-collector-token": "secret-1"},
    )
    assert isinstance(tracer.exporter, OtlpExporter)
    _run_app()
    assert tracer.flush(5)
    receiver.wait_for(3)
    spans = receiver.by_name()
    assert set(spans) == {"answer", "llm call", "tool"}
    root, llm, tool = spans["answer"], spans["llm call"], spans["tool"]
    assert root["span"].parent_span_id == b""
    assert llm["span"].parent_span_id == root["span"].span_id
    assert tool["span"].parent_span_id == root["span"].span_id
    assert len({s["span"].trace_id for s in spans.values()}) == 1
    assert llm["span"].end_time_unix_nano >= llm["span"].start_time_unix_nano > 0
    attrs = llm["attrs"]
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.max_tokens"] == 20
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["gen_ai.usage.output_tokens"] == 10
    assert attrs["promptrail.prompt.name"] == PROMPT
    assert attrs["promptrail.prompt.version"] == 2
    assert attrs["promptrail.prompt.label"] == "production"
    assert attrs["langfuse.observation.prompt.version"] == 2
    assert json.loads(attrs["langfuse.observation.input"])[0]["content"].startswith("what is")
    assert root["attrs"]["user.id"] == "user-1"
    assert root["attrs"]["session.id"] == "session-1"
    assert root["attrs"]["langfuse.trace.tags"] == ["otlp"]
    assert json.loads(root["attrs"]["langfuse.trace.metadata"]) == {"plan": "pro"}
    assert tool["span"].status.code == 2  # ERROR
    assert "tool broke" in tool["span"].status.message
    assert receiver.headers[0]["x-collector-token"] == "secret-1"
    assert receiver.headers[0]["content-type"] == "application/x-protobuf"
    assert receiver.resources[0]["telemetry.sdk.name"] == "promptrail-python"


def test_the_standard_environment_variables_configure_otlp_beside_another_exporter(
    receiver: OtlpReceiver, installed: list[Tracer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTRAIL_OTLP", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)  # + /v1/traces
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Basic%20abc,x-team=ml")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    memory = MemoryExporter()
    tracer = _install(installed, exporter=memory)
    assert isinstance(tracer.exporter, FanoutExporter)
    _run_app()
    assert tracer.flush(5)
    receiver.wait_for(3)
    assert len([e for e in memory.events if e["type"] == "observation-create"]) == 3
    assert receiver.headers[0]["authorization"] == "Basic abc"
    assert receiver.headers[0]["x-team"] == "ml"
    assert receiver.headers[0]["content-encoding"] == "gzip"
    assert receiver.resources[0]["service.name"] == "checkout"


def test_a_retried_batch_goes_again_only_where_it_failed(installed: list[Tracer]) -> None:
    with OtlpReceiver() as steady, OtlpReceiver(fail_first=2) as flaky:
        tracer = _install(
            installed,
            exporter=FanoutExporter(
                [OtlpExporter(steady.url + "/v1/traces"), OtlpExporter(flaky.url + "/v1/traces")]
            ),
        )
        _run_app()
        assert tracer.flush(10)
        flaky.wait_for(3)
        assert flaky.requests >= 3  # two refusals, then the batch
        assert len(steady.spans) == 3  # not sent again while the other was retried
        assert len(flaky.spans) == 3


def test_promptrail_otlp_into_promptrail_otlp_ingest_reads_back_the_same(
    otel_server: OtelServer, installed: list[Tracer]
) -> None:
    tracer = _install(
        installed, otlp_endpoint=otel_server.url + "/v1/traces", otlp_headers=otel_server.basic
    )
    _run_app(otel_server.prompt_hash)
    assert tracer.flush(5)
    assert tracer.failed == 0
    assert tracer.rejected == 0
    # the trace id is the generation's; find it through the user
    with otel_server.query() as http:
        found = http.get("/api/v1/traces", params={"user_id": "user-1", "limit": 1}).json()
    trace = otel_server.trace(found["data"][0]["id"], spans=3)
    assert trace["name"] == "answer"
    assert trace["session_id"] == "session-1"
    assert trace["metadata"] == {"plan": "pro"}
    spans = {o["name"]: o for o in trace["observations"]}
    llm = spans["llm call"]
    assert llm["type"] == "generation"
    assert llm["model"] == "gpt-4o-mini"
    assert llm["model_parameters"] == {"temperature": 0.3, "max_tokens": 20}
    assert llm["usage"]["input"] == 1000
    assert llm["cost_source"] == "computed"
    assert llm["input"] == [{"role": "user", "content": "what is six times seven?"}]
    assert llm["output"] == {"role": "assistant", "content": "42"}
    assert llm["prompt"]["version"] == 2
    assert llm["prompt"]["label"] == "production"
    assert llm["prompt"]["resolved"] is True
    assert spans["tool"]["level"] == "ERROR"
    assert [o["depth"] for o in trace["observations"]] == [0, 1, 1]


def test_spans_nest_under_an_active_opentelemetry_span(installed: list[Tracer]) -> None:
    memory = MemoryExporter()
    tracer = _install(installed, exporter=memory)
    otel = TracerProvider().get_tracer("app")
    with otel.start_as_current_span("http request") as outer:
        context = outer.get_span_context()
        _run_app()
    _run_app()  # outside any OpenTelemetry span: a trace of its own
    assert tracer.flush(5)
    roots = [
        e["body"]
        for e in memory.events
        if e["type"] == "observation-create" and e["body"]["name"] == "answer"
    ]
    assert roots[0]["trace_id"] == f"{context.trace_id:032x}"
    assert roots[0]["parent_id"] == f"{context.span_id:016x}"
    assert roots[1]["trace_id"] != roots[0]["trace_id"]
    assert "parent_id" not in roots[1]
    traces = [e["body"] for e in memory.events if e["type"] == "trace-create"]
    joined = [t for t in traces if t["id"] == roots[0]["trace_id"]]
    # the joined trace's attributes are sent, but not a name or times: those are the
    # OpenTelemetry root's
    assert all("name" not in t and "start_time" not in t for t in joined)
    assert joined[-1]["user_id"] == "user-1"
