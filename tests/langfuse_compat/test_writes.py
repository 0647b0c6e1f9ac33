"""Prompt writes through the Langfuse API: refused by default (git is the source of truth),
accepted when the server allows them, and then reported as drift by `plan --check`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import GitRepo, run_cli
from langfuse_compat.kit import run_sdk
from serverproc import ServerProcess


def _versions(url: str, name: str) -> list[int]:
    body = httpx.get(f"{url}/api/v1/versions/{name}").json()
    return sorted(v["version"] for v in body["versions"])


def test_refused_write_leaves_the_registry_unchanged_and_says_why(server: ServerProcess) -> None:
    before = httpx.get(f"{server.url}/api/v1/state").json()
    result = run_sdk(server, "write_prompt", "production")
    assert result.get("error"), result
    message = str(result["body"])
    assert "git" in message
    assert "prompts/summarize.yaml" in message
    assert "PROMPTRAIL_LANGFUSE_WRITES" in message
    assert httpx.get(f"{server.url}/api/v1/state").json() == before
    patch = httpx.patch(
        f"{server.url}/api/public/v2/prompts/summarize/versions/2",
        json={"newLabels": ["production"]},
    )
    assert patch.status_code == 403
    assert "labels: {production: 2}" in patch.json()["message"]
    assert httpx.get(f"{server.url}/api/v1/state").json() == before


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"PROMPTRAIL_LANGFUSE_WRITES": "on"}
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with ServerProcess(db, env=env, log_path=tmp_path / "server.log") as proc:
        yield proc


def test_accepted_write_is_drift_for_plan_check(
    writable: ServerProcess, example_repo: GitRepo
) -> None:
    published = run_cli("publish", str(example_repo.path), "--registry", writable.url)
    assert published.exit_code == 0, published.output
    clean = run_cli("plan", str(example_repo.path), "--check", "--registry", writable.url)
    assert clean.exit_code == 0, clean.output

    made = run_sdk(writable, "write_prompt", "staging")
    assert made == {"version": 3, "labels": ["latest", "staging"], "_stderr": made["_stderr"]}
    assert _versions(writable.url, "summarize") == [1, 2, 3]
    versions = httpx.get(f"{writable.url}/api/v1/versions/summarize").json()["versions"]
    assert versions[0]["message"] == "from the Langfuse SDK"

    drift = run_cli("plan", str(example_repo.path), "--check", "--registry", writable.url)
    assert drift.exit_code == 1, drift.output
    assert "summarize" in drift.output

    moved = httpx.patch(
        f"{writable.url}/api/public/v2/prompts/summarize/versions/1",
        json={"newLabels": ["canary"]},
    )
    assert moved.status_code == 200, moved.text
    assert "canary" in moved.json()["labels"]
