"""`promptrail eval PROMPT --traces`: scores on production generations, once per evaluator
version, visible in the per-version metrics; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from conftest import GitRepo, run_cli
from serverproc import ServerProcess

from .conftest import GOOD, prompt_file

ONE_WORD = '      - {type: regex, pattern: "^[A-Z][a-z]+$", name: one_word}\n'


@pytest.fixture
def server(db_url: str) -> Iterator[ServerProcess]:
    with ServerProcess(db_url) as proc:
        yield proc


def ingest_generations(url: str, version: int, outputs: list[str]) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    events = []
    for output in outputs:
        trace_id, gen_id = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
        stamp = start.isoformat()
        events += [
            {
                "id": uuid.uuid4().hex,
                "type": "trace-create",
                "body": {"id": trace_id, "name": "answer", "start_time": stamp},
            },
            {
                "id": uuid.uuid4().hex,
                "type": "observation-create",
                "body": {
                    "id": gen_id,
                    "trace_id": trace_id,
                    "type": "generation",
                    "name": "capital",
                    "start_time": stamp,
                    "end_time": (start + dt.timedelta(milliseconds=300)).isoformat(),
                    "model": "gpt-4o-mini",
                    "input": [{"role": "user", "content": "Name the capital city of France?"}],
                    "output": {"role": "assistant", "content": output},
                    "prompt": {"name": "capital", "version": version, "label": "production"},
                },
            },
        ]
    answer = httpx.post(f"{url}/api/v1/ingest", json={"batch": events}, timeout=30)
    assert answer.status_code in (200, 207), answer.text
    assert not answer.json()["errors"]


def test_live_generations_are_scored_once_per_evaluator_version(
    eval_repo: GitRepo, server: ServerProcess
) -> None:
    text = prompt_file(GOOD + "?", 2)
    eval_repo.write_prompt("capital", text + ONE_WORD)
    eval_repo.commit("capital v2 with a check that needs no expected output")
    ingest_generations(server.url, 1, ["Paris", "I am not sure."] * 10)
    ingest_generations(server.url, 2, ["Paris"] * 20)
    args = ("eval", "capital", "--traces", "--since", "1h", "--registry", server.url)

    first = run_cli(*args, "--format", "json", cwd=eval_repo.path)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["considered"] == 40
    assert report["scored"] == 40  # one_word on each; exact needs an expected output
    assert report["needs_expected"] == ["exact"]
    assert report["versions"]["1"]["one_word"] == {"mean": 0.5, "n": 20}
    assert report["versions"]["2"]["one_word"] == {"mean": 1.0, "n": 20}
    versus = report["comparison"]["evaluators"]["one_word"]
    assert (report["comparison"]["base"], report["comparison"]["head"]) == (1, 2)
    assert versus["verdict"] == "better"
    assert versus["ci"][0] > 0

    again = run_cli(*args, "--format", "json", cwd=eval_repo.path)
    assert again.exit_code == 0, again.output
    rerun = json.loads(again.stdout)
    assert (rerun["scored"], rerun["skipped"]) == (0, 40)

    with httpx.Client(base_url=server.url) as http:
        scores = http.get("/api/v1/scores", params={"source": "eval", "limit": 500}).json()
        assert scores["meta"]["total_items"] == 40
        assert {s["name"] for s in scores["data"]} == {"one_word"}
        metrics = http.get(
            "/api/v1/metrics",
            params={"group_by": "prompt_version", "score_name": "one_word"},
        ).json()
    by_version = {row["prompt_version"]: row for row in metrics["rows"]}
    assert by_version[1]["avg_score"] == 0.5
    assert by_version[1]["score_count"] == 20
    assert by_version[2]["avg_score"] == 1.0

    # A new version of the evaluator scores everything again, beside the old scores.
    eval_repo.write_prompt("capital", text + ONE_WORD.replace("+$", "+[.]?$"))
    changed = run_cli(*args, "--format", "json", cwd=eval_repo.path)
    assert json.loads(changed.stdout)["scored"] == 40


def test_all_scores_every_prompt_with_evals(eval_repo: GitRepo, server: ServerProcess) -> None:
    eval_repo.write_prompt("capital", prompt_file(GOOD + "?", 2) + ONE_WORD)
    eval_repo.commit("capital v2 with a check that needs no expected output")
    ingest_generations(server.url, 2, ["Paris", "not one word"] * 5)
    args = ("eval", "--traces", "--all", "--since", "1h", "--registry", server.url)
    result = run_cli(*args, "--format", "json", cwd=eval_repo.path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "capital" in report["scored_prompts"]
    (capital,) = [entry for entry in report["prompts"] if entry["prompt"] == "capital"]
    assert capital["scored"] == 10
    assert capital["versions"]["2"]["one_word"] == {"mean": 0.5, "n": 10}
    text = run_cli(*args, cwd=eval_repo.path)
    assert text.exit_code == 0, text.output
    assert "capital: 0 generation(s) scored, 10 already scored" in text.stdout

    both = run_cli("eval", "capital", *args[1:], cwd=eval_repo.path)
    assert both.exit_code == 2
    assert "drop 'capital'" in both.output
