"""`eval --base` with a registry: base runs reused, both runs recorded, the head on the
pull request's preview label; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import GitRepo
from promptrail.api.client import RegistryClient
from promptrail.testing.fake_openai import FakeOpenAI
from serverproc import ServerProcess

from .conftest import BAD, GOOD, eval_base, prompt_file


@pytest.fixture
def server(db_url: str) -> Iterator[ServerProcess]:
    with ServerProcess(db_url) as proc:
        yield proc


def test_the_base_run_is_reused_and_the_head_recorded_on_the_preview_label(
    eval_repo: GitRepo, llm_env: FakeOpenAI, server: ServerProcess
) -> None:
    eval_repo.write_prompt("capital", prompt_file(BAD + ".", 1))
    eval_repo.commit("v1")
    eval_repo.git("checkout", "-q", "-b", "pr-7")
    eval_repo.write_prompt("capital", prompt_file(GOOD + "?", 2))
    eval_repo.commit("v2")
    flags = ("--registry", server.url, "--preview-label", "pr-7")

    code, first, _ = eval_base(eval_repo.path, *flags)
    assert code == 0
    entry = first["prompts"][0]
    assert entry["base"]["reused"] is False
    assert first["llm_calls"] == 24
    assert entry["compare_url"] == (
        f"{server.url}/runs/compare?base={entry['base']['run_id']}&head={entry['head']['run_id']}"
    )
    with RegistryClient(server.url) as registry:
        stored = {run.run_id: run for run in registry.list_runs(prompt="capital").runs}
        assert set(stored) == {entry["base"]["run_id"], entry["head"]["run_id"]}
        assert stored[entry["head"]["run_id"]].prompt.label == "pr-7"
        assert stored[entry["base"]["run_id"]].prompt.version == 1

    # A fresh CI machine (no response cache): the base side comes from the registry.
    os.remove(Path(os.environ["PROMPTRAIL_EVAL_CACHE"]))
    code, second, _ = eval_base(eval_repo.path, *flags)
    assert code == 0
    again = second["prompts"][0]
    assert again["base"]["reused"] is True
    assert again["base"]["run_id"] == entry["base"]["run_id"]
    assert second["llm_calls"] == 12  # the head only
    assert again["comparison"] == entry["comparison"]

    # The same pull request once more, cache kept: nothing is called at all.
    calls = len(llm_env.requests)
    code, third, _ = eval_base(eval_repo.path, *flags)
    assert code == 0
    assert third["llm_calls"] == 0
    assert len(llm_env.requests) == calls
