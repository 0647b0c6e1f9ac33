"""`promptrail comment --diff BASE`: beside the production numbers, the version on
`production` against another version serving scored traffic, on quality; against a real
registry process on SQLite and PostgreSQL, posted to a fake GitHub and updated in place."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from conftest import GitRepo, run_cli
from fakes.fake_github import FakeGitHub
from kit import publish_text
from promptrail.api.client import RegistryClient
from serverproc import ServerProcess

PROMPTRAIL = [sys.executable, "-m", "promptrail.cli.main"]
GOOD = [0.9, 1.0, 0.8] * 4
BAD = [0.2, 0.3, 0.4] * 4


def email(version: int, text: str) -> str:
    return (
        f"version: {version}\nprompt: '{text}'\nconfig: {{model: gpt-4o}}\nlabels: [production]\n"
    )


def calls(version: int, scores: list[float]) -> list[dict[str, object]]:
    """A traced generation of customer-email@version per score, the score on its trace."""
    start = datetime.now(UTC) - timedelta(hours=2)
    events: list[dict[str, object]] = []
    for value in scores:
        trace = uuid.uuid4().hex
        events += [
            {
                "id": uuid.uuid4().hex,
                "type": "trace-create",
                "body": {"id": trace, "name": "send", "start_time": start.isoformat()},
            },
            {
                "id": uuid.uuid4().hex,
                "type": "observation-create",
                "body": {
                    "id": uuid.uuid4().hex[:16],
                    "trace_id": trace,
                    "type": "generation",
                    "name": "draft",
                    "start_time": start.isoformat(),
                    "end_time": (start + timedelta(milliseconds=700)).isoformat(),
                    "model": "gpt-4o",
                    "cost": {"total": 0.002},
                    "prompt": {"name": "customer-email", "version": version},
                },
            },
            {
                "id": uuid.uuid4().hex,
                "type": "score-create",
                "body": {"name": "helpful", "value": value, "trace_id": trace, "source": "eval"},
            },
        ]
    return events


def ingest(url: str, events: list[dict[str, object]]) -> None:
    response = httpx.post(f"{url}/api/v1/ingest", json={"batch": events}, timeout=30)
    assert response.status_code == 200, response.text
    assert not response.json()["errors"]


@pytest.fixture
def registry(db_url: str, git_repo: GitRepo) -> Iterator[tuple[GitRepo, ServerProcess]]:
    """v1 on production and v2 on canary both serving traffic, v2's answers scored worse;
    the pull request changes the prompt again."""
    git_repo.write_prompt("customer-email", email(1, "Write to {{customer_name}}."))
    git_repo.commit("v1")
    with ServerProcess(db_url) as server:
        # In a subprocess: `publish` leaves its registry connection to process exit.
        published = subprocess.run(
            [*PROMPTRAIL, "publish", "--registry", server.url],
            cwd=git_repo.path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert published.returncode == 0, published.stderr
        with RegistryClient(server.url) as client:
            publish_text(client, "customer-email", 2, "Hi {{customer_name}}!", {"canary": None})
        ingest(server.url, calls(1, GOOD) + calls(2, BAD))
        git_repo.write_prompt("customer-email", email(3, "Dear {{customer_name}},"))
        git_repo.commit("v3")
        yield git_repo, server


def test_the_comment_compares_production_with_the_other_version_on_quality(
    registry: tuple[GitRepo, ServerProcess],
    fake_github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, server = registry
    result = run_cli(
        "comment", "--diff", "HEAD~1", "--dry-run", "--registry", server.url, cwd=repo.path
    )
    assert result.exit_code == 0, result.output
    body = result.stdout
    assert "| `customer-email` | v1 | 12 | 700 ms | $0.0020 | 0.90 (12) |" in body
    assert "**Quality on live traffic**" in body
    row = next(
        line for line in body.splitlines() if line.startswith("| `customer-email` | `helpful`")
    )
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == "v1 (production): 0.900 (12)"
    assert cells[3] == "v2 (canary): 0.300 (12)"
    assert cells[4].startswith("-0.600 [")
    assert cells[5] == "❌ regression"

    # Posted, then updated in place (one comment) once the numbers move.
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 5}}))
    for key, value in {
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_REPOSITORY": "acme/prompts",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_TOKEN": "test-token",
        "PROMPTRAIL_URL": server.url,
    }.items():
        monkeypatch.setenv(key, value)
    first = run_cli("comment", "--diff", "HEAD~1", cwd=repo.path)
    assert first.exit_code == 0, first.output
    ingest(server.url, calls(2, GOOD * 20))  # v2 catches up: no longer a regression
    second = run_cli("comment", "--diff", "HEAD~1", cwd=repo.path)
    assert second.exit_code == 0, second.output
    assert "updated comment" in second.output
    (comment,) = fake_github.comments_of("acme/prompts", 5)
    row = next(
        line
        for line in comment["body"].splitlines()
        if line.startswith("| `customer-email` | `helpful`")
    )
    assert "v2 (canary): " in row
    assert "(252)" in row
    assert "❌ regression" not in row
