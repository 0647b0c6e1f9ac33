"""What the faster tracer must still do: record values as they were at call and return
time, lose nothing in a burst against a real server, and keep reading the old wire."""

from __future__ import annotations

import gc
import gzip
import json
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import promptrail
import promptrail.tracing.tracer as tracer_module
from promptrail.tracing import MemoryExporter, Tracer
from promptrail.tracing.events import EventBuilder
from promptrail.tracing.exporter import encode_batch
from promptrail.tracing.wire import CompactEncoder
from serverproc import ServerProcess


@pytest.fixture
def server(db_url: str, tmp_path: Any) -> Iterator[ServerProcess]:
    with ServerProcess(db_url, log_path=tmp_path / "server.log") as proc:
        yield proc


@pytest.fixture
def traced() -> Iterator[Callable[[Tracer], Tracer]]:
    """Install a tracer as the process-wide one; shut it down after the test."""
    made: list[Tracer] = []
    previous = tracer_module.active

    def install(tracer: Tracer) -> Tracer:
        made.append(tracer)
        tracer_module.active = tracer
        return tracer

    yield install
    tracer_module.active = previous
    for tracer in made:
        tracer.shutdown(timeout=2)


def _observations(exporter: MemoryExporter) -> dict[str, dict[str, Any]]:
    return {
        e["body"]["name"]: e["body"] for e in exporter.events if e["type"] == "observation-create"
    }


class _Payload:
    def __init__(self, text: str) -> None:
        self.text = text


def test_inputs_and_outputs_are_what_they_were_at_call_and_return_time(
    traced: Callable[[Tracer], Tracer],
) -> None:
    exporter = MemoryExporter()
    tracer = traced(Tracer(exporter=exporter, flush_interval=60))  # nothing leaves until flush
    history: list[dict[str, str]] = [{"role": "user", "content": "hi"}]

    @promptrail.observe()
    def answer(messages: list[dict[str, str]], options: dict[str, Any]) -> dict[str, Any]:
        reply = {"role": "assistant", "content": "hello"}
        return {"reply": reply, "seen": len(messages)}

    result = answer(history, options={"temperature": 0.2})
    history.append({"role": "user", "content": "changed after the call"})
    result["reply"]["content"] = "changed after the return"
    with promptrail.start_span("manual", input=history) as span:
        history.clear()
        span.update(metadata={"tags": history})
        history.append({"role": "user", "content": "later"})
    assert tracer.flush(5)
    bodies = _observations(exporter)
    assert bodies["answer"]["input"] == {
        "messages": [{"role": "user", "content": "hi"}],
        "options": {"temperature": 0.2},
    }
    assert bodies["answer"]["output"] == {
        "reply": {"role": "assistant", "content": "hello"},
        "seen": 1,
    }
    assert len(bodies["manual"]["input"]) == 2
    assert bodies["manual"]["metadata"] == {"tags": []}


def test_a_queued_span_keeps_no_argument_alive(traced: Callable[[Tracer], Tracer]) -> None:
    # Collect what earlier tests left behind first (a client socket's finalizer warns), so
    # the collection below judges only this test's payload.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    exporter = MemoryExporter()
    tracer = traced(Tracer(exporter=exporter, flush_interval=60))

    @promptrail.observe()
    def use(payload: _Payload) -> int:
        return len(payload.text)

    payload = _Payload("x" * 1000)
    alive = weakref.ref(payload)
    use(payload)
    del payload
    gc.collect()
    assert alive() is None  # the span is still queued: it holds JSON text, not the object
    assert tracer.queue_size == 1
    assert tracer.flush(5)
    assert _observations(exporter)["use"]["input"] == {"payload": {"text": "x" * 1000}}


def test_the_queue_is_bounded_in_bytes_and_counts_what_it_drops(
    traced: Callable[[Tracer], Tracer],
) -> None:
    exporter = MemoryExporter()
    tracer = traced(Tracer(exporter=exporter, flush_interval=60, max_queue_bytes=200_000))

    @promptrail.observe()
    def big(data: list[str]) -> int:
        return len(data)

    for _ in range(50):
        big(["y" * 10_000])  # about 10 kB of JSON each: the bound holds about 20
    assert 15 <= tracer.queue_size <= 25
    assert tracer.dropped == 50 - tracer.queue_size
    assert tracer.flush(5)
    assert len(_observations(exporter)) == 1  # all named "big"; counted below
    assert sum(e["type"] == "observation-create" for e in exporter.events) == 50 - tracer.dropped


def test_a_burst_with_default_settings_loses_nothing_against_a_real_server(
    server: ServerProcess, traced: Callable[[Tracer], Tracer]
) -> None:
    tracer = traced(Tracer(server.url))  # the defaults

    @promptrail.observe()
    def step(i: int, note: dict[str, int]) -> int:
        return i

    @promptrail.observe()
    def request(first: int) -> int:
        return sum(step(i, {"i": i}) for i in range(first, first + 20))

    for first in range(0, 5_000, 20):
        request(first)
    assert tracer.flush(60)
    assert (tracer.dropped, tracer.failed, tracer.rejected) == (0, 0, 0)
    assert tracer.exported == 5_250
    listed = httpx.get(f"{server.url}/api/v1/traces", params={"limit": 1}).json()
    assert listed["meta"]["total_items"] == 250
    detail = httpx.get(f"{server.url}/api/v1/traces/{listed['data'][0]['id']}").json()
    assert len(detail["observations"]) == 21
    inner = [o for o in detail["observations"] if o["name"] == "step"]
    assert all(o["input"] == {"i": o["output"], "note": {"i": o["output"]}} for o in inner)


def _recorded() -> list[Any]:
    """One trace (a root with attributes, a generation with a prompt, a score) as recorded."""
    tracer = Tracer(enabled=True, release="r1")
    items: list[Any] = []
    tracer._emit = items.append
    previous, tracer_module.active = tracer_module.active, tracer
    try:
        with promptrail.start_span("root", input={"q": "reset?"}) as root:
            root.update_trace(user_id="u-1", session_id="s-1", tags=["faq"], metadata={"a": 1})
            with promptrail.start_generation(
                "draft",
                model="gpt-4o-mini",
                input=[{"role": "user", "content": "reset?"}],
                prompt={"name": "support/reply", "version": 3, "label": "production"},
            ) as gen:
                gen.update(usage={"prompt_tokens": 100, "completion_tokens": 20}, output="ok")
            promptrail.score("helpful", True)
            root.update(output={"answer": "ok"})
    finally:
        tracer_module.active = previous
    return items


def _post(url: str, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return httpx.post(f"{url}/api/v1/ingest", content=gzip.compress(body), headers=headers)


def _stored(url: str, trace_id: str) -> dict[str, Any]:
    detail = httpx.get(f"{url}/api/v1/traces/{trace_id}").json()
    for key in ("id",):
        detail.pop(key)
    for obs in detail["observations"]:
        obs.pop("trace_id")
    for score in detail["scores"]:
        score.pop("trace_id")
    return detail


def test_an_older_tracer_still_ingests_and_both_wires_store_the_same(
    server: ServerProcess,
) -> None:
    items = _recorded()
    builder = EventBuilder(release="r1")
    v1 = encode_batch(builder.build(items))  # what a tracer before version 2 sends
    assert b'"batch"' in v1
    v2, records = CompactEncoder(builder, "test", "0").encode(items)
    assert records == 3  # root (with its trace), generation, score: no repeated trace event
    assert len(v2) < len(v1) / 2

    first = _post(server.url, v1)
    assert first.status_code == 200, first.text
    trace_id = items[0].trace.trace_id
    old = _stored(server.url, trace_id)
    # The same trace again, under new ids, sent the new way.
    v2_text = v2.decode()
    for item in items:
        if hasattr(item, "trace"):
            v2_text = v2_text.replace(item.trace.trace_id, "f" * 32)
    second = _post(server.url, v2_text.encode())
    assert second.status_code == 200, second.text
    assert second.json() == {"errors": [], "stored": 3}
    new = _stored(server.url, "f" * 32)
    assert new == old
    assert old["user_id"] == "u-1"
    assert old["tags"] == ["faq"]
    assert old["release"] == "r1"
    assert old["input"] == {"q": "reset?"}
    assert old["output"] == {"answer": "ok"}
    (generation,) = [o for o in old["observations"] if o["type"] == "generation"]
    assert generation["usage"]["input"] == 100
    assert generation["cost"]["total"] > 0
    assert generation["prompt"]["version"] == 3


def test_a_bad_record_is_refused_alone_naming_its_key(server: ServerProcess) -> None:
    body = {
        "v": 2,
        "b": 1_700_000_000_000_000,
        "o": [
            {"i": "a" * 16, "t": "b" * 32, "n": "fine", "s": 0, "d": 5},
            {"i": "c" * 16, "t": "b" * 32, "n": "bad", "s": "yesterday"},
            {"i": "d" * 16, "t": "b" * 32, "p": "a" * 16, "us": {"input": -1}},
        ],
    }
    answer = _post(server.url, json.dumps(body).encode())
    assert answer.status_code == 207
    errors = {e["id"]: e["message"] for e in answer.json()["errors"]}
    assert errors == {
        "c" * 16: "o[1].s: expected whole microseconds",
        "d" * 16: "o[2].us.input: expected a non-negative whole number",
    }
    assert answer.json()["stored"] == 1
    stored = httpx.get(f"{server.url}/api/v1/traces/{'b' * 32}").json()
    assert [o["name"] for o in stored["observations"]] == ["fine"]
    assert stored["latency_ms"] == pytest.approx(0.005)

    unknown = _post(server.url, json.dumps({"v": 9, "o": []}).encode())
    assert unknown.status_code == 400
    assert "wire version 9" in unknown.json()["message"]
