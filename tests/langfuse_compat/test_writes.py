"""Prompt writes through the Langfuse API: refused by default (git is the source of truth),
accepted when the server allows them, and then reported as drift by `plan --check`."""

from __future__ import annotations

import httpx

from conftest import GitRepo, run_cli
from langfuse_compat.kit import LangfuseServer, run_sdk


def _versions(server: LangfuseServer, name: str) -> list[int]:
    with server.client() as http:
        body = http.get(f"/api/v1/versions/{name}").json()
    return sorted(v["version"] for v in body["versions"])


def _state(server: LangfuseServer) -> object:
    with server.client(bearer=True) as http:
        return http.get("/api/v1/state").json()


def test_refused_write_leaves_the_registry_unchanged_and_says_why(
    server: LangfuseServer, api: httpx.Client
) -> None:
    before = _state(server)
    result = run_sdk(server, "write_prompt", "production")
    assert result.get("error"), result
    message = str(result["body"])
    assert "git" in message
    assert "prompts/summarize.yaml" in message
    assert "PROMPTRAIL_LANGFUSE_WRITES" in message
    assert _state(server) == before
    patch = api.patch(
        "/api/public/v2/prompts/summarize/versions/2", json={"newLabels": ["production"]}
    )
    assert patch.status_code == 403
    assert "labels: {production: 2}" in patch.json()["message"]
    assert _state(server) == before


def test_accepted_write_is_drift_for_plan_check_and_protected_labels_stay_protected(
    writable: LangfuseServer, example_repo: GitRepo
) -> None:
    registry = ["--registry", writable.url, "--api-key", writable.admin_key]
    published = run_cli("publish", str(example_repo.path), *registry)
    assert published.exit_code == 0, published.output
    clean = run_cli("plan", str(example_repo.path), "--check", *registry)
    assert clean.exit_code == 0, clean.output

    # The SDK's key pair has no `deploy` scope: production stays where git put it.
    protected = run_sdk(writable, "write_prompt", "production")
    assert protected["error"], protected
    assert "deploy" in str(protected["body"])
    assert _versions(writable, "summarize") == [1, 2]

    made = run_sdk(writable, "write_prompt", "staging")
    assert made == {"version": 3, "labels": ["latest", "staging"], "_stderr": made["_stderr"]}
    assert _versions(writable, "summarize") == [1, 2, 3]
    with writable.client() as http:
        versions = http.get("/api/v1/versions/summarize").json()["versions"]
    assert versions[0]["message"] == "from the Langfuse SDK"

    drift = run_cli("plan", str(example_repo.path), "--check", *registry)
    assert drift.exit_code == 1, drift.output
    assert "version 3 is in the registry but not in the git history" in drift.output

    with writable.client() as http:
        moved = http.patch(
            "/api/public/v2/prompts/summarize/versions/1", json={"newLabels": ["canary"]}
        )
    assert moved.status_code == 200, moved.text
    assert "canary" in moved.json()["labels"]
