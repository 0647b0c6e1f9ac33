"""The query API the web UI and the PR comment read: filters, pages, sessions, scores, metrics.

The data is ingested as raw events with fixed times and latencies, so every number below
is known in advance. Each module run marks its traces with its own environment name.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from events import at, event, new_id, post

ENV = f"query-{uuid.uuid4().hex[:8]}"
USER_A, USER_B = f"{ENV}-ann", f"{ENV}-bob"


def _trace(
    name: str,
    start: float,
    user: str,
    session: str | None,
    tags: list[str],
    generations: list[dict[str, Any]],
    error: bool = False,
) -> list[dict[str, Any]]:
    trace_id = uuid.uuid4().hex
    root = new_id()
    end = start + 1 + len(generations)
    out = [
        event(
            "trace-create",
            {
                "id": trace_id,
                "name": name,
                "user_id": user,
                "session_id": session,
                "tags": tags,
                "environment": ENV,
                "start_time": at(start),
                "end_time": at(end),
                "input": {"q": name},
            },
        ),
        event(
            "observation-create",
            {
                "id": root,
                "trace_id": trace_id,
                "name": name,
                "start_time": at(start),
                "end_time": at(end),
                "level": "ERROR" if error else None,
            },
        ),
    ]
    for i, gen in enumerate(generations):
        out.append(
            event(
                "observation-create",
                {
                    "id": new_id(),
                    "trace_id": trace_id,
                    "parent_id": root,
                    "type": "generation",
                    "name": "llm",
                    "start_time": at(start + i),
                    "end_time": at(start + i + gen["seconds"]),
                    "model": gen["model"],
                    "usage": {"input": gen["input"], "output": gen["output"]},
                    "cost": {"total": gen["cost"]},
                    "prompt": {
                        "name": "support/reply",
                        "version": gen["version"],
                        "label": "production",
                    },
                },
            )
        )
    return out


def _gen(model: str, version: int, seconds: float, cost: float) -> dict[str, Any]:
    return {
        "model": model,
        "version": version,
        "seconds": seconds,
        "cost": cost,
        "input": 100,
        "output": 10,
    }


@pytest.fixture(scope="session")
def seeded(server: Any) -> dict[str, str]:
    """Five traces: two users, two sessions, tags, prompt versions 1 and 2, one error."""
    traces = [
        _trace("triage", 0, USER_A, f"{ENV}-s1", ["support"], [_gen("gpt-4o", 1, 1.0, 0.01)]),
        _trace(
            "triage",
            60,
            USER_A,
            f"{ENV}-s1",
            ["support", "vip"],
            [_gen("gpt-4o", 2, 2.0, 0.02), _gen("gpt-4o-mini", 2, 0.5, 0.001)],
        ),
        _trace(
            "reply",
            120,
            USER_B,
            f"{ENV}-s2",
            ["support"],
            [_gen("gpt-4o", 2, 3.0, 0.03)],
            error=True,
        ),
        _trace("reply", 86_400 + 10, USER_B, None, [], [_gen("gpt-4o", 2, 4.0, 0.04)]),
        _trace("other", 86_400 + 20, USER_A, f"{ENV}-s1", ["vip"], []),
    ]
    ids = {}
    with httpx.Client(base_url=server.url) as http:
        for i, events in enumerate(traces):
            assert post(http, events).status_code == 200
            ids[f"t{i}"] = events[0]["body"]["id"]
        score = {"trace_id": ids["t0"], "name": "helpful", "value": 1.0}
        assert http.post("/api/v1/scores", json=score).status_code == 201
        score = {"trace_id": ids["t2"], "name": "helpful", "value": 0.0, "comment": "wrong"}
        assert http.post("/api/v1/scores", json=score).status_code == 201
    return ids


def _ids(response: httpx.Response, seeded: dict[str, str]) -> list[str]:
    assert response.status_code == 200, response.text
    names = {v: k for k, v in seeded.items()}
    return [names[t["id"]] for t in response.json()["data"]]


def test_trace_filters(http: httpx.Client, seeded: dict[str, str]) -> None:
    def traces(**params: Any) -> list[str]:
        return _ids(http.get("/api/v1/traces", params={"environment": ENV, **params}), seeded)

    assert traces() == ["t4", "t3", "t2", "t1", "t0"]  # newest first
    assert traces(user_id=USER_B) == ["t3", "t2"]
    assert traces(session_id=f"{ENV}-s1") == ["t4", "t1", "t0"]
    assert traces(tag="vip") == ["t4", "t1"]
    assert traces(tag=["vip", "support"]) == ["t1"]
    assert traces(name="reply") == ["t3", "t2"]
    assert traces(prompt_name="support/reply", prompt_version=1) == ["t0"]
    assert traces(prompt_version=2) == ["t3", "t2", "t1"]
    assert traces(has_error=True) == ["t2"]
    assert traces(has_error=False) == ["t4", "t3", "t1", "t0"]
    assert traces(**{"from": "2025-03-01T12:01:00Z", "to": "2025-03-02T00:00:00"}) == ["t2", "t1"]


def test_trace_pages(http: httpx.Client, seeded: dict[str, str]) -> None:
    first = http.get("/api/v1/traces", params={"environment": ENV, "limit": 2})
    third = http.get("/api/v1/traces", params={"environment": ENV, "limit": 2, "page": 3})
    assert _ids(first, seeded) == ["t4", "t3"]
    assert _ids(third, seeded) == ["t0"]
    assert first.json()["meta"] == {"page": 1, "limit": 2, "total_items": 5, "total_pages": 3}
    assert http.get("/api/v1/traces", params={"limit": 0}).status_code == 422


def test_trace_summaries_carry_their_totals(http: httpx.Client, seeded: dict[str, str]) -> None:
    (t1,) = http.get(
        "/api/v1/traces", params={"environment": ENV, "tag": ["vip", "support"]}
    ).json()["data"]
    assert t1["generation_count"] == 2
    assert t1["observation_count"] == 3
    assert t1["usage"]["input"] == 200
    assert t1["usage"]["total"] == 220
    assert t1["cost"] == pytest.approx(0.021)
    assert t1["latency_ms"] == pytest.approx(3000)
    assert t1["prompts"] == [
        {"name": "support/reply", "version": 2, "label": "production", "hash": None}
    ]
    assert http.get("/api/v1/traces/nope").status_code == 404


def test_sessions_list_and_detail(http: httpx.Client, seeded: dict[str, str]) -> None:
    listed = http.get("/api/v1/sessions", params={"user_id": USER_A}).json()
    assert [s["session_id"] for s in listed["data"]] == [f"{ENV}-s1"]
    (s1,) = listed["data"]
    assert s1["trace_count"] == 3
    assert s1["user_ids"] == [USER_A]
    assert s1["cost"] == pytest.approx(0.031)
    detail = http.get(f"/api/v1/sessions/{ENV}-s1").json()
    names = {v: k for k, v in seeded.items()}
    assert [names[t["id"]] for t in detail["traces"]] == ["t0", "t1", "t4"]  # oldest first
    assert http.get("/api/v1/sessions/no-such-session").status_code == 404


def test_scores_create_validate_and_list(http: httpx.Client, seeded: dict[str, str]) -> None:
    trace_id = seeded["t1"]
    made = http.post(
        "/api/v1/scores",
        json={"trace_id": trace_id, "name": "tone", "value": "friendly", "source": "annotation"},
    )
    assert made.status_code == 201
    assert made.json()["data_type"] == "categorical"
    assert made.json()["string_value"] == "friendly"
    flag = http.post(
        "/api/v1/scores", json={"session_id": f"{ENV}-s2", "name": "ok", "value": True}
    )
    assert flag.json()["value"] == 1.0
    assert flag.json()["data_type"] == "boolean"
    bad = http.post("/api/v1/scores", json={"name": "x", "value": 1})
    assert bad.status_code == 422
    assert "trace_id" in bad.json()["message"]
    bad = http.post(
        "/api/v1/scores",
        json={"trace_id": trace_id, "name": "x", "value": "high", "data_type": "numeric"},
    )
    assert bad.status_code == 422
    listed = http.get("/api/v1/scores", params={"trace_id": trace_id}).json()
    assert [s["name"] for s in listed["data"]] == ["tone"]
    by_user = http.get("/api/v1/scores", params={"user_id": USER_B, "name": "helpful"}).json()
    assert [s["comment"] for s in by_user["data"]] == ["wrong"]
    session = http.get(f"/api/v1/sessions/{ENV}-s2").json()
    assert [s["name"] for s in session["scores"]] == ["ok"]


def _metrics(http: httpx.Client, **params: Any) -> dict[str, dict[str, Any]]:
    response = http.get("/api/v1/metrics", params={"environment": ENV, **params})
    assert response.status_code == 200, response.text
    return {row["key"]: row for row in response.json()["rows"]}


def test_metrics_by_model(http: httpx.Client, seeded: dict[str, str]) -> None:
    rows = _metrics(http, group_by="model")
    assert set(rows) == {"gpt-4o", "gpt-4o-mini"}
    big = rows["gpt-4o"]
    assert (big["count"], big["trace_count"]) == (4, 4)
    assert big["cost"] == pytest.approx(0.10)
    assert (big["input_tokens"], big["output_tokens"], big["total_tokens"]) == (400, 40, 440)
    assert big["latency_p50_ms"] == pytest.approx(2000)  # of 1, 2, 3, 4 s (nearest rank)
    assert big["latency_p95_ms"] == pytest.approx(4000)
    assert big["avg_score"] == pytest.approx(0.5)
    assert big["score_count"] == 2


def test_metrics_by_prompt_version_user_tag_and_day(
    http: httpx.Client, seeded: dict[str, str]
) -> None:
    versions = _metrics(http, group_by="prompt_version")
    assert set(versions) == {"support/reply@1", "support/reply@2"}
    v2 = versions["support/reply@2"]
    assert (v2["prompt_name"], v2["prompt_version"], v2["count"]) == ("support/reply", 2, 4)
    assert versions["support/reply@1"]["avg_score"] == 1.0
    users = _metrics(http, group_by="user", unit="traces")
    assert users[USER_A]["count"] == 3
    assert users[USER_B]["count"] == 2
    assert users[USER_B]["error_count"] == 1
    assert users[USER_B]["latency_p50_ms"] == pytest.approx(2000)  # traces of 2 s each
    tags = _metrics(http, group_by="tag", unit="traces")
    assert (tags["support"]["count"], tags["vip"]["count"]) == (3, 2)
    days = _metrics(http, group_by="day")
    assert {k: v["count"] for k, v in days.items()} == {"2025-03-01": 4, "2025-03-02": 1}
    limited = _metrics(http, group_by="model", **{"from": "2025-03-02T00:00:00Z"})
    assert {k: v["count"] for k, v in limited.items()} == {"gpt-4o": 1}
    scored = _metrics(http, group_by="model", score_name="nothing-like-this")
    assert scored["gpt-4o"]["avg_score"] is None
    bad = http.get("/api/v1/metrics", params={"group_by": "colour"})
    assert bad.status_code == 400
    assert "group_by" in bad.json()["message"]


def test_llm_calls_across_traces_filter_by_model_prompt_version_and_time(
    http: httpx.Client, seeded: dict[str, str]
) -> None:
    def calls(**params: Any) -> list[dict[str, Any]]:
        query = {"type": "generation", "from": at(0), "to": at(86_400 * 2), **params}
        answer = http.get("/api/v1/observations", params=query)
        assert answer.status_code == 200, answer.text
        return [c for c in answer.json()["data"] if c["trace_id"] in seeded.values()]

    everything = calls()
    assert [c["model"] for c in everything].count("gpt-4o") == 4
    starts = [c["start_time"] for c in everything]
    assert starts == sorted(starts, reverse=True)  # newest first
    assert [c["cost"]["total"] for c in calls(model="gpt-4o-mini")] == [0.001]
    assert len(calls(prompt_name="support/reply", prompt_version=2)) == 4
    assert len(calls(**{"from": at(86_400)})) == 1
    spans = http.get("/api/v1/observations", params={"type": "span", "trace_id": seeded["t0"]})
    assert [s["type"] for s in spans.json()["data"]] == ["span"]


def test_costs_come_back_without_float_noise(http: httpx.Client) -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in floating point, in SQL sums as in Python.
    env = f"{ENV}-noise"
    noisy = [_gen("gpt-4o", 1, 1, 0.1), _gen("gpt-4o", 1, 1, 0.2)]
    events = _trace("noisy", 0, USER_A, None, [], noisy)
    events += _trace("noisy", 5, USER_A, None, [], [_gen("gpt-4o", 1, 1, 0.7)])
    for item in events:
        if item["type"] == "trace-create":
            item["body"]["environment"] = env
    assert post(http, events).status_code == 200
    rows = _metrics(http, group_by="model", environment=env)
    assert rows["gpt-4o"]["cost"] == 1.0
    traces = http.get("/api/v1/traces", params={"environment": env}).json()["data"]
    assert sorted(t["cost"] for t in traces) == [0.3, 0.7]


def test_one_failure_passing_through_its_spans_is_counted_once(http: httpx.Client) -> None:
    env = f"{ENV}-failures"
    one = _trace("one", 0, USER_A, None, [], [_gen("gpt-4o", 1, 1, 0.1)], error=True)
    two = _trace("two", 5, USER_A, None, [], [_gen("gpt-4o", 1, 1, 0.1)] * 2, error=True)
    for item in one + two:
        body = item["body"]
        if item["type"] == "trace-create":
            body["environment"] = env
        elif body.get("type") == "generation":
            body["level"] = "ERROR"  # the failing call; the root span failed through it
    assert post(http, one + two).status_code == 200
    traces = http.get("/api/v1/traces", params={"environment": env}).json()["data"]
    assert {t["name"]: t["error_count"] for t in traces} == {"one": 1, "two": 2}


def test_the_api_is_documented(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    for path in (
        "/api/v1/ingest",
        "/api/v1/traces",
        "/api/v1/traces/{trace_id}",
        "/api/v1/sessions",
        "/api/v1/scores",
        "/api/v1/metrics",
        "/api/v1/model-prices",
    ):
        assert path in spec["paths"], path
    ingest = spec["paths"]["/api/v1/ingest"]["post"]
    schema = ingest["requestBody"]["content"]["application/json"]["schema"]
    assert "batch" in schema["properties"]
    assert "TraceSummary" in spec["components"]["schemas"]
