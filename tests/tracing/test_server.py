"""Traces arriving on a real `promptrail serve` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextvars
import gzip
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import promptrail
from appserver import AppServer
from conftest import run_cli
from events import event, new_id, post
from promptrail.tracing import Tracer
from serverproc import ServerProcess, free_port


class Prompt:
    """Shaped like what promptrail.Client returns."""

    name, version, label, hash = "support/reply", 4, "production", "a" * 64


def _get_trace(api: httpx.Client, trace_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/traces/{trace_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_traced_run_arrives_with_its_tree_usage_cost_and_prompt(
    server: AppServer, api: httpx.Client, use_tracer: Callable[..., Tracer]
) -> None:
    tracer = use_tracer(server.url)
    user = f"user-{uuid.uuid4().hex[:8]}"

    @promptrail.observe(as_type="generation")
    def llm(question: str) -> str:
        promptrail.update_current_observation(
            model="gpt-4o-mini",
            model_parameters={"temperature": 0},
            prompt=Prompt(),
            usage={"input": 1000, "output": 200, "cached": 400},
        )
        return "answer"

    @promptrail.observe()
    def tokens() -> Any:
        yield "a"
        yield "b"

    @promptrail.observe()
    async def lookup(key: str) -> str:
        await asyncio.sleep(0.01)
        return key.upper()

    @promptrail.observe()
    def in_thread() -> int:
        return 1

    @promptrail.observe(name="answer-question")
    def run(question: str) -> str:
        promptrail.update_current_trace(user_id=user, session_id=f"{user}-s", tags=["qa", "e2e"])
        facts = asyncio.run(lookup("facts"))
        words = "".join(tokens())
        ctx = contextvars.copy_context()
        thread = threading.Thread(target=ctx.run, args=(in_thread,))
        thread.start()
        thread.join()
        return llm(f"{question} {facts} {words}")

    assert run("why?") == "answer"
    assert tracer.flush(10)
    listed = api.get("/api/v1/traces", params={"user_id": user}).json()
    assert listed["meta"]["total_items"] == 1
    summary = listed["data"][0]
    assert summary["name"] == "answer-question"
    assert summary["session_id"] == f"{user}-s"
    assert summary["tags"] == ["qa", "e2e"]
    assert summary["observation_count"] == 5
    assert summary["generation_count"] == 1
    # gpt-4o-mini: 0.15 $/M input, 0.075 $/M cached input, 0.60 $/M output
    expected_cost = 600 * 0.15e-6 + 400 * 0.075e-6 + 200 * 0.60e-6
    assert summary["cost"] == pytest.approx(expected_cost)
    assert summary["usage"] == {
        "input": 1000,
        "output": 200,
        "total": 1200,
        "cached": 400,
        "reasoning": 0,
    }
    assert summary["prompts"] == [
        {"name": "support/reply", "version": 4, "label": "production", "hash": "a" * 64}
    ]

    detail = _get_trace(api, summary["id"])
    tree = [(o["depth"], o["name"]) for o in detail["observations"]]
    assert tree[0] == (0, "answer-question")
    assert sorted(tree[1:]) == [(1, "in_thread"), (1, "llm"), (1, "lookup"), (1, "tokens")]
    root = detail["observations"][0]
    for obs in detail["observations"][1:]:
        assert obs["parent_id"] == root["id"]
        assert root["start_time"] <= obs["start_time"] <= obs["end_time"] <= root["end_time"]
        assert obs["latency_ms"] >= 0
    by_name = {o["name"]: o for o in detail["observations"]}
    assert by_name["lookup"]["latency_ms"] >= 9
    assert by_name["tokens"]["output"] == "ab"
    generation = by_name["llm"]
    assert generation["type"] == "generation"
    assert generation["model"] == "gpt-4o-mini"
    assert generation["input"] == {"question": "why? FACTS ab"}
    assert generation["cost_source"] == "computed"
    assert generation["cost"]["total"] == pytest.approx(expected_cost)
    assert generation["prompt"]["version"] == 4
    assert detail["latency_ms"] >= by_name["lookup"]["latency_ms"]


def test_a_batch_delivered_twice_is_stored_once(api: httpx.Client) -> None:
    trace_id, span_id, score_id = uuid.uuid4().hex, new_id(), new_id()
    batch = [
        event("trace-create", {"id": trace_id, "name": "twice", "tags": ["x"]}),
        event("observation-create", {"id": span_id, "trace_id": trace_id, "name": "s"}),
        event("score-create", {"id": score_id, "trace_id": trace_id, "name": "q", "value": 1}),
    ]
    first = post(api, batch)
    second = post(api, batch)
    assert first.status_code == second.status_code == 200
    assert len(second.json()["successes"]) == 3
    detail = _get_trace(api, trace_id)
    assert len(detail["observations"]) == 1
    assert len(detail["scores"]) == 1
    assert detail["tags"] == ["x"]
    listed = api.get("/api/v1/traces", params={"tag": "x", "name": "twice"}).json()
    assert [t["id"] for t in listed["data"]].count(trace_id) == 1


def test_a_malformed_event_is_rejected_alone(api: httpx.Client) -> None:
    trace_id = uuid.uuid4().hex
    good = [
        event("trace-create", {"id": trace_id, "name": "mixed"}),
        event("observation-create", {"id": new_id(), "trace_id": trace_id, "name": "ok"}),
        event(
            "observation-update",
            {"id": new_id(), "trace_id": trace_id, "name": "ok2", "level": "WARNING"},
        ),
    ]
    bad = [
        event("observation-create", {"id": new_id(), "name": "no trace id"}, "bad-1"),
        event(
            "observation-create", {"id": new_id(), "trace_id": trace_id, "level": "LOUD"}, "bad-2"
        ),
        event("teleport", {"id": "x"}, "bad-3"),
        event(
            "score-create",
            {"name": "s", "value": "x", "data_type": "numeric", "trace_id": trace_id},
            "bad-4",
        ),
        "not an event",
    ]
    response = post(api, [*good[:1], *bad, *good[1:]], compress=False)
    assert response.status_code == 207
    body = response.json()
    assert sorted(s["id"] for s in body["successes"]) == sorted(e["id"] for e in good)
    errors = {e["id"]: e["message"] for e in body["errors"]}
    assert set(errors) == {"bad-1", "bad-2", "bad-3", "bad-4", None}
    assert "trace_id" in errors["bad-1"]
    assert "level" in errors["bad-2"]
    assert "numeric" in errors["bad-4"]
    detail = _get_trace(api, trace_id)
    assert sorted(o["name"] for o in detail["observations"]) == ["ok", "ok2"]
    assert {o["name"]: o["level"] for o in detail["observations"]}["ok2"] == "WARNING"


def test_oversized_batches_get_a_clear_413(api: httpx.Client) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * 40_000_000 + b"]}")
    response = api.post(
        "/api/v1/ingest",
        content=bomb,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "decompressed" in response.json()["message"]
    many = [event("trace-create", {"id": f"t{i}"}) for i in range(10_001)]
    response = post(api, many)
    assert response.status_code == 413
    assert "10001 events" in response.json()["message"]
    assert post(api, ["x"], compress=False).status_code == 207
    assert api.post("/api/v1/ingest", content=b"{nope").status_code == 400


def test_an_update_event_fills_in_an_earlier_observation(api: httpx.Client) -> None:
    trace_id, obs_id = uuid.uuid4().hex, new_id()
    start = {"id": obs_id, "trace_id": trace_id, "type": "generation", "name": "g"}
    start |= {"start_time": "2025-01-01T00:00:00Z", "model": "gpt-4o"}
    assert post(api, [event("observation-create", start)]).status_code == 200
    end = {"id": obs_id, "trace_id": trace_id, "end_time": "2025-01-01T00:00:02.5Z"}
    end |= {"output": "done", "usage": {"input": 10, "output": 5}, "model": "gpt-4o"}
    assert post(api, [event("observation-update", end)]).status_code == 200
    (obs,) = _get_trace(api, trace_id)["observations"]
    assert (obs["type"], obs["name"], obs["output"]) == ("generation", "g", "done")
    assert obs["latency_ms"] == pytest.approx(2500)
    assert obs["cost"]["total"] == pytest.approx(10 * 2.5e-6 + 5 * 10e-6)


def test_a_cost_given_by_the_caller_wins_and_prices_can_be_added(api: httpx.Client) -> None:
    trace_id = uuid.uuid4().hex
    model = f"acme-{uuid.uuid4().hex[:6]}"
    created = api.post(
        "/api/v1/model-prices",
        json={
            "model": model,
            "match_pattern": f"{model}(-latest)?",
            "input_price": 1e-6,
            "output_price": 2e-6,
            "effective_from": "2020-01-01",
        },
    )
    assert created.status_code == 201, created.text
    listed = api.get("/api/v1/model-prices").json()["data"]
    assert listed[0]["model"] == model
    assert listed[0]["source"] == "api"
    assert any(p["model"] == "gpt-4o-mini" and p["source"] == "builtin" for p in listed)
    usage = {"input": 100, "output": 10}
    events = [
        event(
            "observation-create",
            {
                "id": new_id(),
                "trace_id": trace_id,
                "type": "generation",
                "name": "priced",
                "model": f"{model}-latest",
                "usage": usage,
            },
        ),
        event(
            "observation-create",
            {
                "id": new_id(),
                "trace_id": trace_id,
                "type": "generation",
                "name": "given",
                "model": "gpt-4o",
                "usage": usage,
                "cost": {"input": 0.5, "output": 0.25},
            },
        ),
    ]
    assert post(api, events).status_code == 200
    found = {o["name"]: o for o in _get_trace(api, trace_id)["observations"]}
    assert found["priced"]["cost"]["total"] == pytest.approx(100e-6 + 20e-6)
    assert found["priced"]["cost_source"] == "computed"
    assert found["given"]["cost"] == {"input": 0.5, "output": 0.25, "total": 0.75}
    assert found["given"]["cost_source"] == "given"
    price_id = listed[0]["id"]
    assert api.delete(f"/api/v1/model-prices/{price_id}").status_code == 204
    assert api.delete(f"/api/v1/model-prices/{price_id}").status_code == 404


def test_server_down_the_app_is_not_slowed_and_data_arrives_later(
    db_url: str, tmp_path: Path, make_tracer: Callable[..., Tracer]
) -> None:
    port = free_port()
    tracer = make_tracer(f"http://127.0.0.1:{port}", max_queue=300, batch_size=50)
    quiet = make_tracer(enabled=False)
    user = f"offline-{uuid.uuid4().hex[:6]}"

    def work(active: Tracer, n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            with active.start_span("request", input={"i": i}) as span:
                span.update_trace(user_id=user)
                sum(range(200))
        return time.perf_counter() - started

    baseline = work(quiet, 1000)
    traced = work(tracer, 1000)  # the server is not there: connections are refused
    assert traced < baseline + 1.0  # generous: exporting happens elsewhere
    time.sleep(0.3)
    assert tracer.queue_size <= 300
    assert tracer.dropped >= 1000 - 300 - 50  # the queue plus one batch in flight
    kept = 1000 - tracer.dropped
    with ServerProcess(db_url, port=port, log_path=tmp_path / "server.log") as back:
        assert tracer.flush(20)
        listed = httpx.get(f"{back.url}/api/v1/traces", params={"user_id": user}).json()
    assert listed["meta"]["total_items"] == kept
    assert tracer.failed == 0


def test_ingest_needs_a_key_with_the_ingest_scope_and_prices_come_from_a_file(
    tmp_path: Path, make_tracer: Callable[..., Tracer]
) -> None:
    db = f"sqlite:///{tmp_path / 'auth.db'}"
    keys = {}
    for scope in ("ingest", "read"):
        result = run_cli("keys", "create", "--db", db, "--scope", scope, "--json")
        assert result.exit_code == 0, result.output
        keys[scope] = json.loads(result.stdout)["key"]
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "models:\n  - model: house-llm\n    match: 'house-llm(-v\\d+)?'\n"
        "    prices:\n      - {from: 2024-01-01, input: 10, output: 20}\n"
    )
    args = ["--prices", str(prices)]
    with ServerProcess(db, auth=True, extra_args=args, log_path=tmp_path / "s.log") as server:
        refused = make_tracer(server.url, api_key=keys["read"])
        with refused.start_span("nope"):
            pass
        refused.flush(10)
        assert refused.failed >= 1
        assert refused.exported == 0

        accepted = make_tracer(server.url, api_key=keys["ingest"])
        with accepted.start_generation("g", model="house-llm-v2") as gen:
            gen.update(usage={"input": 1000, "output": 100})
            trace_id = gen.trace_id
        assert accepted.flush(10)
        assert accepted.exported == 1  # one record: a root carries its trace (wire v2)
        headers = {"Authorization": f"Bearer {keys['read']}"}
        detail = httpx.get(f"{server.url}/api/v1/traces/{trace_id}", headers=headers).json()
    assert detail["cost"] == pytest.approx(1000 * 10e-6 + 100 * 20e-6)


def test_a_broken_price_file_is_refused_at_start(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  - model: x\n    prices:\n      - {from: 2024-01-01, input: 1}\n")
    result = run_cli("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--prices", str(prices))
    assert result.exit_code != 0
    assert "prices.yaml:4" in result.output
    assert "output" in result.output
