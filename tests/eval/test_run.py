"""`promptrail eval` against a local OpenAI-compatible server, through the real `openai`
package: scores, the cache, retries, failures, judges, samples, budgets and exit codes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import GitRepo, run_cli
from promptrail.testing.fake_openai import FakeOpenAI

EXACT_PROMPT = """
version: 1
type: chat
messages:
  - role: user
    content: "What is the capital of {{country}}?"
config: {model: gpt-4o-mini, temperature: 0}
evals:
  - dataset: capitals
    evaluators:
      - {type: exact, name: exact}
      - {type: iexact, name: loose}
      - {type: regex, pattern: "^[A-Z][a-z]+$", name: one_word}
      - {type: length, max: 10, name: short}
    run_evaluators:
      - {type: pass_rate, of: exact, name: exact_rate}
    gate: {exact: {min: 0.6}}
"""


def eval_json(repo: GitRepo, *args: str) -> tuple[int, dict, str]:
    result = run_cli("eval", *args, "--format", "json", cwd=repo.path)
    data = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, data, result.stderr


def scripted(fake: FakeOpenAI) -> None:
    fake.reply_when("France", "Paris")
    fake.reply_when("Japan", "tokyo")  # right but lowercase: exact fails, iexact passes
    fake.reply_when("Peru", "Lima, of course")


def test_scores_aggregates_and_the_design_json(eval_repo: GitRepo, openai_env: FakeOpenAI) -> None:
    eval_repo.write_prompt("capitals", EXACT_PROMPT)
    scripted(openai_env)
    code, data, _ = eval_json(eval_repo, "capitals", "--dataset", "capitals")
    assert code == 1, data  # the gate below does not hold
    assert set(data) >= {"run_id", "prompt", "dataset", "items", "aggregates", "gate"}
    assert data["prompt"]["name"] == "capitals"
    assert data["prompt"]["version"] == 1
    assert len(data["prompt"]["hash"]) == 64
    assert len(data["dataset"]["hash"]) == 64
    assert data["dataset"]["name"] == "capitals"
    by_id = {item["id"]: item for item in data["items"]}
    assert by_id["fr"]["scores"] == {"exact": True, "loose": True, "one_word": True, "short": True}
    assert by_id["jp"]["scores"]["exact"] is False
    assert by_id["jp"]["scores"]["loose"] is True
    assert by_id["pe"]["scores"] == {
        "exact": False,
        "loose": False,
        "one_word": False,
        "short": False,
    }
    for item in data["items"]:
        assert set(item) >= {"id", "output", "scores", "error", "latency_ms", "cost"}
        assert item["error"] is None
        assert item["latency_ms"] > 0
        assert item["tokens"]["input"] > 0
    assert data["aggregates"]["exact"] == pytest.approx(1 / 3)
    assert data["aggregates"]["loose"] == pytest.approx(2 / 3)
    assert data["run_aggregates"]["exact_rate"] == pytest.approx(1 / 3)
    assert data["gate"]["passed"] is False  # exact 0.33 < 0.6: the declared gate
    assert data["gate"]["checks"][0]["value"] == pytest.approx(1 / 3)


def test_the_gate_holding_exits_0_and_prints_a_table(
    eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    result = run_cli("eval", "capitals", "--dataset", "capitals", cwd=eval_repo.path)
    assert result.exit_code == 0, result.stderr
    assert "mentions" in result.stdout
    assert "gate ok" in result.stdout
    assert "fr" in result.stdout
    assert "jp" in result.stdout
    # Not a terminal: plain progress lines, not a redrawn bar.
    assert "eval capitals: 3/3 (100%)" in result.stderr
    assert "\r" not in result.stderr


def test_a_rerun_is_answered_from_the_cache_with_zero_requests(
    eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    _, first, _ = eval_json(eval_repo, "capitals")
    assert len(openai_env.requests) == 3
    assert first["stats"]["llm_calls"] == 3
    _, second, _ = eval_json(eval_repo, "capitals")
    assert len(openai_env.requests) == 3  # not one more
    assert second["stats"] == {**second["stats"], "llm_calls": 0, "cache_hits": 3}
    assert [i["output"] for i in second["items"]] == [i["output"] for i in first["items"]]
    assert [i["scores"] for i in second["items"]] == [i["scores"] for i in first["items"]]
    assert all(item["cached"] for item in second["items"])
    # --no-cache calls again; a changed parameter is another key.
    eval_json(eval_repo, "capitals", "--no-cache")
    assert len(openai_env.requests) == 6
    eval_json(eval_repo, "capitals", "--param", "temperature=0.5")
    assert len(openai_env.requests) == 9
    assert openai_env.requests[-1]["temperature"] == 0.5


def test_429_is_retried_after_the_time_retry_after_asks(
    eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    openai_env.fail_next(1, status=429, retry_after=1.0)
    started = time.monotonic()
    code, data, _ = eval_json(eval_repo, "capitals", "--concurrency", "1")
    assert code == 0
    assert all(item["error"] is None for item in data["items"])
    times = openai_env.request_times
    assert len(times) == 4  # the refused call, then three answered
    assert times[1] - times[0] >= 0.95  # waited what Retry-After said
    assert time.monotonic() - started >= 1.0


def test_500_is_retried_and_a_failing_item_does_not_fail_the_others(
    eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    openai_env.fail_next(1, status=500)  # retried: nobody notices
    openai_env.fail_when("Japan", status=400)  # never succeeds: recorded on its item
    code, data, _ = eval_json(eval_repo, "capitals", "--retries", "2")
    by_id = {item["id"]: item for item in data["items"]}
    assert by_id["jp"]["error"].startswith("HTTP 400")
    assert by_id["jp"]["scores"] == {}
    assert by_id["fr"]["error"] is None
    assert by_id["fr"]["scores"]["mentions"] is True
    assert by_id["pe"]["error"] is None
    assert data["stats"]["errors"] == 1
    assert data["aggregates"]["mentions"] == 1.0  # over the items that answered
    assert code == 0


def test_a_malformed_answer_is_that_items_error(eval_repo: GitRepo, openai_env: FakeOpenAI) -> None:
    openai_env.malformed_when("Japan")
    code, data, _ = eval_json(eval_repo, "capitals")
    by_id = {item["id"]: item for item in data["items"]}
    assert "not a chat completion" in by_id["jp"]["error"]
    assert by_id["fr"]["error"] is None
    assert code == 0


def test_an_unreachable_endpoint_exits_3(eval_repo: GitRepo, tmp_path: Path) -> None:
    result = run_cli(
        "eval",
        "capitals",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--retries",
        "0",
        "--cache",
        str(tmp_path / "c.sqlite"),
        cwd=eval_repo.path,
    )
    assert result.exit_code == 3
    assert "could not be reached" in result.stderr


JUDGE = """
version: 1
type: chat
messages:
  - role: system
    content: 'Rate how helpful the answer is, 1 to 5. Reply {"score": n, "reason": "..."}.'
  - role: user
    content: "Question: {{input}} Answer: {{output}}"
config: {model: gpt-4o-mini, temperature: 0}
"""


def test_judge_scores_come_from_its_parsed_answers(
    eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    eval_repo.write_prompt("judges/helpful", JUDGE)
    eval_repo.write_prompt(
        "capitals",
        EXACT_PROMPT.replace(
            "      - {type: exact, name: exact}\n",
            "      - {type: exact, name: exact}\n"
            "      - {type: llm_judge, prompt: judges/helpful, name: helpful, min: 1, max: 5}\n",
        ),
    )
    openai_env.reply_when("Answer: Paris", '```json\n{"score": 5, "reason": "correct"}\n```')
    openai_env.reply_when("Answer: tokyo", "score: 3\nreason: right city, wrong case")
    openai_env.reply_when("Answer: Lima", "I think it is quite good!")  # malformed
    scripted(openai_env)
    code, data, _ = eval_json(eval_repo, "capitals")
    assert code == 1  # exact's mean 1/3 is below the gate's 0.6
    by_id = {item["id"]: item for item in data["items"]}
    assert by_id["fr"]["scores"]["helpful"] == 5
    assert by_id["fr"]["comments"]["helpful"] == "correct"
    assert by_id["jp"]["scores"]["helpful"] == 3
    assert by_id["jp"]["comments"]["helpful"] == "right city, wrong case"
    assert "helpful" not in by_id["pe"]["scores"]
    assert "not a score" in by_id["pe"]["evaluator_errors"]["helpful"]
    assert by_id["pe"]["error"] is None
    assert by_id["pe"]["scores"]["exact"] is False
    assert data["aggregates"]["helpful"] == 4.0
    judged = [r for r in openai_env.requests if "Rate how helpful" in json.dumps(r)]
    assert len(judged) == 3


def test_samples_run_each_item_n_times_each_cached_apart(
    eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    code, data, _ = eval_json(eval_repo, "capitals", "--samples", "2")
    assert code == 0
    assert [(i["id"], i["sample"]) for i in data["items"]] == [
        ("fr", 0),
        ("fr", 1),
        ("jp", 0),
        ("jp", 1),
        ("pe", 0),
        ("pe", 1),
    ]
    assert len(openai_env.requests) == 6
    eval_json(eval_repo, "capitals", "--samples", "2")
    assert len(openai_env.requests) == 6


def test_max_cost_refuses_before_any_call(eval_repo: GitRepo, openai_env: FakeOpenAI) -> None:
    result = run_cli("eval", "capitals", "--max-cost", "0.0000001", cwd=eval_repo.path)
    assert result.exit_code == 1
    assert "above --max-cost" in result.stderr
    assert "nothing was called" in result.stderr
    assert openai_env.requests == []
    assert run_cli("eval", "capitals", "--max-cost", "1", cwd=eval_repo.path).exit_code == 0


TASK = """
import asyncio


async def answer(input, metadata):
    await asyncio.sleep(0)
    return f"{input['country']} ({metadata.get('region', 'unknown')})"
"""


def test_a_task_function_is_evaluated_instead_of_the_prompt(
    eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    eval_repo.write("evals/app.py", TASK)
    code, data, _ = eval_json(eval_repo, "capitals", "--task", "evals.app:answer")
    assert code == 0
    assert data["items"][0]["output"] == "France (europe)"
    assert data["items"][0]["scores"]["mentions"] is True
    assert data["task"] == "evals.app:answer"
    assert openai_env.requests == []  # the task made no model call


def test_ref_evaluates_the_committed_prompt(eval_repo: GitRepo, openai_env: FakeOpenAI) -> None:
    committed = eval_repo.head()
    eval_repo.write_prompt("capitals", EXACT_PROMPT.replace("version: 1", "version: 2"))
    code, data, _ = eval_json(eval_repo, "capitals", "--ref", "HEAD")
    assert code == 0
    assert data["prompt"]["version"] == 1
    assert data["commit"] == committed
    assert data["prompt"]["source"] == "git:HEAD"
    assert "mentions" in data["aggregates"]  # the checks of that commit, too
