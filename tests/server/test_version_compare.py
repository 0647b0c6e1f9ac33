"""`GET /api/v1/metrics/compare`: two versions serving traffic, compared on quality (scores
with an unpaired 95% interval), cost and latency; on SQLite and PostgreSQL.

Each test module run uses prompt names of its own, so the shared servers' other data
never mixes in. Generations are traced an hour ago, inside the default range (7 days).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from appserver import AppServer
from events import post, scored_generations
from kit import publish_text
from promptrail.api.client import RegistryClient
from promptrail.errors import PromptNotFound

CALLS = 40


@dataclass
class Seeded:
    name: str
    lonely: str  # published, on production, no other version with traffic
    unlabelled: str  # published, no production label


@pytest.fixture(scope="module")
def seeded(server: AppServer) -> Seeded:
    """v1 on production (helpful ~0.9), v2 on canary (helpful ~0.3: clearly worse, with an
    older superseded 1.0 on each generation), v3 without traffic; `tone` the same on both."""
    tag = uuid.uuid4().hex[:8]
    made = Seeded(f"q{tag}/reply", f"q{tag}/lonely", f"q{tag}/bare")
    with RegistryClient(server.url, transport=server.transport()) as client:
        publish_text(client, made.name, 1, "v1", {"production": None})
        publish_text(client, made.name, 2, "v2", {"canary": None})
        publish_text(client, made.name, 3, "v3")
        publish_text(client, made.lonely, 1, "v1", {"production": None})
        publish_text(client, made.unlabelled, 1, "v1")
    good = [0.8, 0.9, 1.0, 0.9] * (CALLS // 4)
    bad = [0.2, 0.3, 0.4, 0.3] * (CALLS // 4)
    tone = [0.0, 1.0] * (CALLS // 2)
    batches = [
        scored_generations(made.name, 1, good, tone, ms=500, cost=0.001),
        scored_generations(made.name, 2, bad, tone, ms=1500, cost=0.003, superseded=1.0),
        scored_generations(made.lonely, 1, good[:4], tone[:4], ms=500, cost=0.001),
    ]
    with server.http(timeout=30) as http:
        for events in batches:
            answer = post(http, events)
            assert answer.status_code == 200, answer.text
            assert not answer.json()["errors"]
    return made


def _compare(http: httpx.Client, **params: Any) -> httpx.Response:
    return http.get("/api/v1/metrics/compare", params=params)


def test_a_clearly_worse_head_is_a_regression_and_the_same_scores_no_change(
    http: httpx.Client, seeded: Seeded
) -> None:
    answer = _compare(http, prompt=seeded.name)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    # Defaults: the version on production, and the newest other one with traffic (v3 has none).
    assert (found["base"]["version"], found["head"]["version"]) == (1, 2)
    assert "production" in found["base"]["labels"]
    assert "canary" in found["head"]["labels"]
    assert found["base"]["calls"] == found["head"]["calls"] == CALLS
    assert found["base"]["latency_p50_ms"] == pytest.approx(500)
    assert found["head"]["latency_p50_ms"] == pytest.approx(1500)
    assert found["base"]["cost_per_call"] == pytest.approx(0.001)
    assert found["head"]["cost_per_call"] == pytest.approx(0.003)
    scores = {row["name"]: row for row in found["scores"]}
    assert set(scores) == {"helpful", "tone"}

    helpful = scores["helpful"]
    assert (helpful["base_n"], helpful["head_n"]) == (CALLS, CALLS)
    assert helpful["base_mean"] == pytest.approx(0.9)
    # One value per generation, the newest: the superseded 1.0s are not counted.
    assert helpful["head_mean"] == pytest.approx(0.3)
    assert helpful["diff"] == pytest.approx(-0.6)
    assert helpful["ci"][0] < helpful["ci"][1] < 0
    assert (helpful["verdict"], helpful["verdict_text"]) == ("worse", "regression")

    tone = scores["tone"]  # on the traces, identical on both sides
    assert tone["diff"] == pytest.approx(0.0)
    assert tone["ci"][0] < 0 < tone["ci"][1]
    assert (tone["verdict"], tone["verdict_text"]) == ("same", "no detectable change")

    assert found["sample_limit"] == 5000
    assert found["truncated"] is False
    assert not helpful["truncated"]

    swapped = _compare(http, prompt=seeded.name, base=2, head=1).json()
    helpful = next(row for row in swapped["scores"] if row["name"] == "helpful")
    assert helpful["verdict_text"] == "improvement"


def test_the_sample_is_the_newest_generations_and_says_when_it_was_cut(
    http: httpx.Client, seeded: Seeded
) -> None:
    found = _compare(http, prompt=seeded.name, sample_limit=3).json()
    assert found["truncated"] is True
    assert found["sample_limit"] == 3
    helpful = next(row for row in found["scores"] if row["name"] == "helpful")
    assert (helpful["base_n"], helpful["head_n"], helpful["truncated"]) == (3, 3, True)
    # The newest three generations of v1 scored 0.9, 1.0, 0.9 (the list repeats every 4).
    assert helpful["base_mean"] == pytest.approx((0.9 + 1.0 + 0.9) / 3)
    assert found["base"]["calls"] == CALLS  # traffic numbers are over every call


def test_unknown_prompts_and_versions_are_404_and_missing_defaults_422(
    http: httpx.Client, seeded: Seeded
) -> None:
    missing = _compare(http, prompt=seeded.name, head=99)
    assert missing.status_code == 404
    assert "no version 99" in missing.json()["message"]
    assert _compare(http, prompt=f"{seeded.name}-nope").status_code == 404

    unlabelled = _compare(http, prompt=seeded.unlabelled)
    assert unlabelled.status_code == 422
    assert "base=" in unlabelled.json()["message"]
    lonely = _compare(http, prompt=seeded.lonely)
    assert lonely.status_code == 422
    assert "head=" in lonely.json()["message"]
    same = _compare(http, prompt=seeded.name, base=1, head=1)
    assert same.status_code == 422
    bad_time = _compare(http, prompt=seeded.name, since="last tuesday")
    assert bad_time.status_code == 422
    assert "since" in bad_time.json()["message"]
    assert _compare(http).status_code == 422  # prompt is required
    # A range with no traffic on either side: the numbers say so instead of failing.
    empty = _compare(http, prompt=seeded.name, head=3, since="2w", until="1w").json()
    assert empty["base"]["calls"] == empty["head"]["calls"] == 0
    assert empty["scores"] == []


def test_the_client_compares_versions(client: RegistryClient, seeded: Seeded) -> None:
    found = client.compare_versions(seeded.name, base=1, head=2, since="1d")
    helpful = next(row for row in found.scores if row.name == "helpful")
    assert helpful.verdict_text == "regression"
    assert found.head.latency_p95_ms == pytest.approx(1500)
    with pytest.raises(PromptNotFound):
        client.compare_versions(seeded.name, head=42)


def test_the_route_is_documented(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert "/api/v1/metrics/compare" in spec["paths"]
    assert "VersionComparison" in spec["components"]["schemas"]


def test_the_prompt_page_shows_quality_in_production(http: httpx.Client, seeded: Seeded) -> None:
    page = http.get(f"/prompts/{seeded.name}", params={"days": 7})
    assert page.status_code == 200
    section = page.text.split('<section id="quality">', 1)[1].split("</section>", 1)[0]
    assert "Quality in production" in section
    assert "v1 (latest, production)" not in section  # v3 is the latest
    assert "v1 (production) against v2 (canary)" in section
    helpful = section.split('data-score="helpful"', 1)[1].split("</tr>", 1)[0]
    assert "0.900" in helpful
    assert "0.300" in helpful
    assert '<span class="chip del">regression</span>' in helpful
    tone = section.split('data-score="tone"', 1)[1].split("</tr>", 1)[0]
    assert "no detectable change" in tone

    lonely = http.get(f"/prompts/{seeded.lonely}").text
    note = lonely.split('<section id="quality">', 1)[1].split("</section>", 1)[0]
    assert "give head=VERSION" in note
