"""Scores, legacy batch ingestion and trace reads through the Langfuse API, read back
through promptrail's own API (and parsed with the SDK's own response models)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from langfuse.api.commons.types.observation_v2 import ObservationV2
from langfuse.api.core.pydantic_utilities import parse_obj_as
from langfuse.api.prompts.types.prompt_meta_list_response import PromptMetaListResponse
from langfuse.api.scores.types.get_scores_v3response import GetScoresV3Response

from langfuse_compat.kit import LangfuseServer, run_sdk


def _ingest_generation(api: httpx.Client) -> tuple[str, str]:
    trace_id, span_id, gen_id = uuid.uuid4().hex, uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    now = "2026-01-05T10:00:00.000Z"
    batch: list[dict[str, Any]] = [
        {
            "id": str(uuid.uuid4()),
            "type": "trace-create",
            "timestamp": now,
            "body": {
                "id": trace_id,
                "name": "legacy-request",
                "userId": "grace",
                "sessionId": "sess-legacy",
                "tags": ["legacy"],
                "timestamp": now,
            },
        },
        {
            "id": str(uuid.uuid4()),
            "type": "span-create",
            "timestamp": now,
            "body": {"id": span_id, "traceId": trace_id, "name": "outer", "startTime": now},
        },
        {
            "id": str(uuid.uuid4()),
            "type": "generation-create",
            "timestamp": now,
            "body": {
                "id": gen_id,
                "traceId": trace_id,
                "parentObservationId": span_id,
                "name": "summarize-call",
                "startTime": now,
                "endTime": "2026-01-05T10:00:01.500Z",
                "model": "gpt-4o-mini",
                "usage": {"input": 100, "output": 20, "unit": "TOKENS"},
                "promptName": "summarize",
                "promptVersion": 1,
                "input": [{"role": "user", "content": "Summarize: tea"}],
                "output": "Tea.",
            },
        },
        {"id": str(uuid.uuid4()), "type": "sdk-log", "timestamp": now, "body": {"log": "hi"}},
        {"id": "bad-1", "type": "generation-create", "timestamp": now, "body": {"name": "no id"}},
    ]
    answer = api.post("/api/public/ingestion", json={"batch": batch})
    assert answer.status_code == 207
    result = answer.json()
    assert len(result["successes"]) == 4
    assert [e["id"] for e in result["errors"]] == ["bad-1"]
    assert "id" in result["errors"][0]["message"]
    return trace_id, gen_id


def test_legacy_ingestion_lands_in_promptrail_with_prompt_link_usage_and_cost(
    api: httpx.Client,
) -> None:
    trace_id, gen_id = _ingest_generation(api)
    trace = api.get(f"/api/v1/traces/{trace_id}").json()
    assert trace["user_id"] == "grace"
    generation = next(o for o in trace["observations"] if o["id"] == gen_id)
    assert generation["type"] == "generation"
    assert generation["prompt"]["name"] == "summarize"
    assert generation["prompt"]["version"] == 1
    assert generation["usage"]["input"] == 100
    assert generation["cost"]["total"] > 0  # computed from promptrail's price table
    assert generation["depth"] == 1

    # The same trace in Langfuse's shapes.
    full = api.get(f"/api/public/traces/{trace_id}").json()
    assert full["userId"] == "grace"
    assert {o["id"] for o in full["observations"]} >= {gen_id}
    listed = api.get("/api/public/traces", params={"userId": "grace"}).json()
    assert [t["id"] for t in listed["data"]] == [trace_id]
    assert gen_id in listed["data"][0]["observations"]
    observations = api.get("/api/public/v2/observations", params={"traceId": trace_id}).json()
    parsed = [parse_obj_as(ObservationV2, o) for o in observations["data"]]
    gen = next(o for o in parsed if o.id == gen_id)
    assert (gen.prompt_name, gen.prompt_version, gen.type) == ("summarize", 1, "GENERATION")
    assert gen.usage_details == {"input": 100, "output": 20, "total": 120}


def test_create_score_numeric_boolean_categorical_with_the_sdk(
    server: LangfuseServer, api: httpx.Client
) -> None:
    trace_id, gen_id = _ingest_generation(api)
    result = run_sdk(server, "scores", trace_id, gen_id)
    assert result["listed"] == [["accuracy", 0.75], ["helpful", True]]

    native = api.get("/api/v1/scores", params={"trace_id": trace_id}).json()["data"]
    by_name = {s["name"]: s for s in native}
    assert by_name["accuracy"]["value"] == 0.75
    assert by_name["accuracy"]["comment"] == "close"
    assert by_name["helpful"]["data_type"] == "boolean"
    assert by_name["helpful"]["observation_id"] == gen_id
    session = api.get("/api/v1/scores", params={"session_id": "sess-1"}).json()["data"]
    assert ("tone", "friendly", "categorical") in {
        (s["name"], s["string_value"], s["data_type"]) for s in session
    }

    v3 = parse_obj_as(
        GetScoresV3Response, api.get("/api/public/v3/scores", params={"traceId": trace_id}).json()
    )
    subjects = {s.name: s.subject for s in v3.data}
    assert subjects["helpful"].kind == "observation"
    v2 = api.get("/api/public/v2/scores", params={"sessionId": "sess-1"}).json()
    tone = next(s for s in v2["data"] if s["name"] == "tone")
    assert (tone["dataType"], tone["stringValue"]) == ("CATEGORICAL", "friendly")
    one = api.get(f"/api/public/v2/scores/{tone['id']}").json()
    assert one["id"] == tone["id"]


def test_score_batch_reports_the_refused_one(api: httpx.Client) -> None:
    trace_id, _ = _ingest_generation(api)
    good = {"name": "ok", "value": 1.0, "traceId": trace_id}
    bad = {"name": "orphan", "value": 1.0}  # no trace, observation or session
    answer = api.post("/api/public/scores", json=[good, bad])
    assert answer.status_code == 207
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert "trace_id" in body["errors"][0]["message"]
    single = api.post(
        "/api/public/scores", json={"name": "single", "value": 2, "traceId": trace_id}
    )
    assert single.status_code == 200
    assert api.get(f"/api/v1/scores/{single.json()['id']}").json()["value"] == 2


def test_prompt_list_parses_with_the_sdk_model(api: httpx.Client) -> None:
    parsed = parse_obj_as(PromptMetaListResponse, api.get("/api/public/v2/prompts").json())
    assert {p.name for p in parsed.data} >= {"summarize", "support/triage"}
