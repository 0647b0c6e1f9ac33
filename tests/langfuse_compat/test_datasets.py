"""A dataset experiment with the official SDK: the dataset and its items made through the
Langfuse API, the run recorded among promptrail's eval runs, and the dataset reported as
living outside git by `plan --check`."""

from __future__ import annotations

import time
from typing import Any

import httpx

from conftest import GitRepo, run_cli
from langfuse_compat.kit import LangfuseServer, run_sdk
from promptrail.testing.fake_openai import FakeOpenAI


def _run(native: httpx.Client, name: str, items: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        runs = native.get("/api/v1/runs").json()["runs"]
        found = [r for r in runs if (r.get("name") or "").startswith(name)]
        if found and found[0]["item_count"] >= items:
            run = native.get(f"/api/v1/runs/{found[0]['run_id']}").json()
            if all(item["scores"] for item in run["items"]):
                return run  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)


def test_dataset_experiment_is_an_eval_run(
    server: LangfuseServer, native: httpx.Client, fake_llm: FakeOpenAI
) -> None:
    result = run_sdk(server, "experiment", fake_llm.url)
    assert (result["items"], result["results"]) == (2, 2)

    dataset = native.get("/api/v1/datasets/capitals").json()
    assert {item["expected"] for item in dataset["items"]} == {"Paris", "Tokyo"}

    run = _run(native, "capitals-check", 2)
    assert run["dataset"]["name"] == "capitals"
    assert run["dataset"]["hash"] == dataset["hash"]
    assert sorted(item["expected"] for item in run["items"]) == ["Paris", "Tokyo"]
    for item in run["items"]:
        assert set(item["scores"]) == {"exact"}
        assert item["trace_id"]
        assert item["output"]
        assert item["cost"] is None or item["cost"] >= 0
        trace = native.get(f"/api/v1/traces/{item['trace_id']}").json()
        assert any(o["type"] == "generation" for o in trace["observations"])
    assert set(run["aggregates"]) == {"exact"}


def test_api_created_dataset_is_outside_git(writable: LangfuseServer, git_repo: GitRepo) -> None:
    git_repo.write_prompt("hello", "version: 1\nprompt: Hello {{name}}\nlabels: [production]\n")
    git_repo.commit("hello")
    registry = ["--registry", writable.url, "--api-key", writable.admin_key]
    assert run_cli("publish", str(git_repo.path), *registry).exit_code == 0
    assert run_cli("plan", str(git_repo.path), "--check", *registry).exit_code == 0
    with writable.client() as http:
        made = http.post("/api/public/v2/datasets", json={"name": "capitals"})
        assert made.status_code == 200, made.text
        item = http.post(
            "/api/public/dataset-items",
            json={
                "datasetName": "capitals",
                "input": {"country": "France"},
                "expectedOutput": "Paris",
            },
        )
        assert item.status_code == 200, item.text
        listed = http.get("/api/public/dataset-items", params={"datasetName": "capitals"}).json()
        assert [i["expectedOutput"] for i in listed["data"]] == ["Paris"]
    drift = run_cli("plan", str(git_repo.path), "--check", *registry)
    assert drift.exit_code == 1, drift.output
    assert "dataset capitals is in the registry but not in git" in drift.output
