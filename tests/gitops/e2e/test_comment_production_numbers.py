"""`promptrail comment --diff BASE`: the diff, plus what production did, from a real registry."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from conftest import GIT_ENV, GitRepo, run_cli
from fakes.fake_github import FakeGitHub
from promptrail.gitops.prcomment import NOT_REACHABLE
from serverproc import ServerProcess

MARKER = "<!-- promptrail-diff -->"
PROMPTRAIL = [sys.executable, "-m", "promptrail.cli.main"]


def email(version: int, text: str) -> str:
    return (
        f"version: {version}\nprompt: '{text}'\nconfig: {{model: gpt-4o}}\nlabels: [production]\n"
    )


def generation(
    trace: str, caller: str, version: int, ms: int, cost: float, score: float | None
) -> list[dict[str, object]]:
    start = datetime.now(UTC) - timedelta(hours=2)
    events: list[dict[str, object]] = [
        {
            "id": f"{trace}-t",
            "type": "trace-create",
            "body": {"id": trace, "name": caller, "start_time": start.isoformat()},
        },
        {
            "id": f"{trace}-g",
            "type": "observation-create",
            "body": {
                "id": f"{trace}-gen",
                "trace_id": trace,
                "type": "generation",
                "name": "draft",
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(milliseconds=ms)).isoformat(),
                "model": "gpt-4o",
                "usage": {"input": 100, "output": 50},
                "cost": {"total": cost},
                "prompt": {"name": "customer-email", "version": version, "label": "production"},
            },
        },
    ]
    if score is not None:
        events.append(
            {
                "id": f"{trace}-s",
                "type": "score-create",
                "body": {"name": "helpful", "value": score, "trace_id": trace},
            }
        )
    return events


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GitRepo, ServerProcess]]:
    """customer-email v1 on production with traced calls; a commit that breaks its callers.

    Built once for the module (a registry takes seconds to start); the tests only read it.
    """
    tmp = tmp_path_factory.mktemp("traced")
    with pytest.MonkeyPatch.context() as env:
        for key, value in GIT_ENV.items():
            env.setenv(key, value)
        env.setenv("HOME", str(tmp))
        (tmp / "repo").mkdir()
        repo = GitRepo(tmp / "repo")
        repo.git("init", "-q", "-b", "main")
        repo.write_prompt("customer-email", email(1, "Write to {{customer_name}}."))
        repo.commit("v1")
        with ServerProcess(f"sqlite:///{tmp / 'registry.db'}") as registry:
            # In a subprocess: `publish` leaves its registry connection to process exit.
            published = subprocess.run(
                [*PROMPTRAIL, "publish", "--registry", registry.url],
                cwd=repo.path,
                capture_output=True,
                text=True,
                check=False,
            )
            assert published.returncode == 0, published.stderr
            events = [
                *generation("t1", "send_followup", 1, 800, 0.002, 1.0),
                *generation("t2", "send_followup", 1, 1200, 0.004, 0.5),
                *generation("t3", "welcome_flow", 1, 900, 0.003, None),
            ]
            response = httpx.post(f"{registry.url}/api/v1/ingest", json={"batch": events})
            assert response.status_code in (200, 201), response.text
            repo.write_prompt(
                "customer-email", email(2, "Write to {{customer_name}}, signed {{signature}}.")
            )
            repo.commit("v2 needs a signature")
            yield repo, registry


def test_comment_shows_production_numbers_and_the_callers_that_break(
    traced: tuple[GitRepo, ServerProcess],
) -> None:
    traced_repo, registry = traced
    result = run_cli(
        "comment", "--diff", "HEAD~1", "--dry-run", "--registry", registry.url,
        cwd=traced_repo.path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = result.stdout
    assert body.startswith(MARKER)
    assert body.count(MARKER) == 1
    assert "Production, last 7 days" in body
    # 3 calls; p50 of 800/900/1200 ms; $0.009 over 3 calls; mean of the two scores.
    assert "| `customer-email` | v1 | 3 | 900 ms | $0.0030 | 0.75 (2) |" in body
    breaking = next(line for line in body.splitlines() if line.startswith("- ⚠️ `customer-email`"))
    assert "`signature`" in breaking
    assert "`send_followup` (2 calls)" in breaking
    assert "`welcome_flow` (1 calls)" in breaking


def test_comment_without_a_reachable_registry_still_posts(
    traced: tuple[GitRepo, ServerProcess],
    fake_github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3}}))
    for key, value in {
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_REPOSITORY": "acme/prompts",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_TOKEN": "test-token",
        "PROMPTRAIL_URL": "http://127.0.0.1:9",  # nothing listens there
    }.items():
        monkeypatch.setenv(key, value)
    result = run_cli("comment", "--diff", "HEAD~1", cwd=traced[0].path)
    assert result.exit_code == 0, result.output
    (comment,) = fake_github.comments_of("acme/prompts", 3)
    assert NOT_REACHABLE in comment["body"]
    assert "customer-email" in comment["body"]  # the diff itself is there


def test_comment_without_a_registry_says_so(traced: tuple[GitRepo, ServerProcess]) -> None:
    result = run_cli("comment", "--diff", "HEAD~1", "--dry-run", cwd=traced[0].path)
    assert result.exit_code == 0, result.output
    assert "no registry configured" in result.stdout
