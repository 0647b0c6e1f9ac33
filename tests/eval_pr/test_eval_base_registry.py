"""`eval --base` with a registry: base runs reused, both runs recorded, the head on the
pull request's preview label; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import GitRepo
from promptrail.api.client import RegistryClient
from promptrail.testing.fake_openai import FakeOpenAI
from promptrail.tracing import MemoryExporter, Tracer
from promptrail.tracing import tracer as tracer_module
from promptrail.tracing.tracer import installed
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


def test_an_in_process_run_traces_to_the_registry_and_leaves_the_callers_tracer_alone(
    eval_repo: GitRepo, llm_env: FakeOpenAI, server: ServerProcess
) -> None:
    """Run inside someone's process (a notebook, a test), `eval` traces its LLM calls to
    the registry with a tracer of its own, then stops it: the caller's tracer is still the
    active one and still exporting, and no export thread (with its sockets) is left."""
    eval_repo.write_prompt("capital", prompt_file(BAD + ".", 1))
    eval_repo.commit("v1")
    eval_repo.git("checkout", "-q", "-b", "pr-8")
    eval_repo.write_prompt("capital", prompt_file(GOOD + "?", 2))
    eval_repo.commit("v2")
    mine = MemoryExporter()
    caller = Tracer(exporter=mine)
    with installed(caller):
        threads_before = _export_threads()

        code, report, _ = eval_base(eval_repo.path, "--registry", server.url)

        assert code == 0, report
        assert tracer_module.active is caller
        assert _export_threads() == threads_before
        with caller.start_span("after the run"):
            pass
        assert caller.flush(5.0)
        assert any(event["body"].get("name") == "after the run" for event in mine.events)
    with RegistryClient(server.url) as registry:
        traced = registry.list_traces(limit=100).meta.total_items
    assert traced == 24  # each LLM call of both sides, delivered before the run ended


def _export_threads() -> int:
    return sum(t.name == "promptrail-tracer" and t.is_alive() for t in threading.enumerate())
