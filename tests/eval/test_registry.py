"""Datasets published with the prompts, runs stored and served back, on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from conftest import GitRepo, run_cli
from promptrail.api.client import RegistryClient
from promptrail.api.eval import RunResult
from promptrail.errors import PromptNotFound, Unauthorized
from promptrail.store import Store, migrate
from promptrail.testing.fake_openai import FakeOpenAI
from serverproc import ServerProcess

from .conftest import CAPITALS_PROMPT


@pytest.fixture
def server(db_url: str) -> Iterator[ServerProcess]:
    with ServerProcess(db_url) as proc:
        yield proc


@pytest.fixture
def registry(server: ServerProcess) -> Iterator[RegistryClient]:
    with RegistryClient(server.url) as client:
        yield client


def test_datasets_are_published_with_the_prompts_and_every_version_kept(
    eval_repo: GitRepo, server: ServerProcess, registry: RegistryClient
) -> None:
    first = run_cli("publish", "--registry", server.url, cwd=eval_repo.path)
    assert first.exit_code == 0, first.stderr
    state = registry.state()
    stored = registry.get_dataset("capitals")
    assert state.datasets == {"capitals": [stored.hash]}
    assert stored.version == 1
    assert [i.id for i in stored.items] == ["fr", "jp", "pe"]
    assert stored.items[0].metadata == {"region": "europe"}
    assert stored.path == "datasets/capitals.yaml"
    assert stored.publish_id is not None

    again = run_cli("publish", "--registry", server.url, cwd=eval_repo.path)
    assert again.exit_code == 0
    assert "No changes" in again.stdout

    dataset = eval_repo.path / "datasets/capitals.yaml"
    dataset.write_text(
        dataset.read_text() + "  - id: it\n    input: {country: Italy}\n    expected: Rome\n"
    )
    eval_repo.commit("add Italy")
    plan = run_cli("plan", "--registry", server.url, cwd=eval_repo.path)
    assert "dataset capitals" in plan.stdout
    assert "4 items" in plan.stdout
    assert run_cli("publish", "--registry", server.url, cwd=eval_repo.path).exit_code == 0
    latest = registry.get_dataset("capitals")
    assert latest.version == 2
    assert len(latest.items) == 4
    assert latest.commit == eval_repo.head()
    assert registry.get_dataset("capitals", version=1).hash == stored.hash
    assert registry.get_dataset("capitals", hash=stored.hash).version == 1
    listing = registry.list_datasets().datasets
    assert [(d.name, d.latest_version, d.item_count) for d in listing] == [("capitals", 2, 4)]
    history = registry.dataset_versions("capitals").versions
    assert [v.version for v in history] == [2, 1]
    assert history[0].items == []  # a listing: no items

    spec = httpx.get(f"{server.url}/openapi.json").json()
    for path in ("/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/datasets/{name}"):
        assert path in spec["paths"], path
    assert "RunResult" in spec["components"]["schemas"]


def test_a_bad_dataset_blocks_the_publish_and_changes_nothing(
    eval_repo: GitRepo, server: ServerProcess, registry: RegistryClient
) -> None:
    eval_repo.write(
        "datasets/capitals.yaml",
        "items:\n  - {id: fr, input: {country: France}}\n  - {id: fr, input: {country: Peru}}\n",
    )
    result = run_cli("publish", "--registry", server.url, cwd=eval_repo.path)
    assert result.exit_code == 1
    assert "datasets/capitals.yaml:3" in result.stderr + result.stdout
    assert registry.state().prompts == {}
    assert registry.state().datasets == {}
    # The server refuses a hand-made upload whose hash does not match its items, whole.
    body = {
        "datasets": [{"name": "capitals", "hash": "0" * 64, "items": [{"id": "a", "input": {}}]}]
    }
    answer = httpx.post(f"{server.url}/api/v1/publish", json=body)
    assert answer.status_code == 400
    assert "not the hash of its items" in answer.text
    assert registry.list_datasets().datasets == []


def test_eval_records_its_run_and_it_reads_back_identical(
    eval_repo: GitRepo, openai_env: FakeOpenAI, server: ServerProcess, registry: RegistryClient
) -> None:
    assert run_cli("publish", "--registry", server.url, cwd=eval_repo.path).exit_code == 0
    openai_env.fail_when("Peru", status=400)  # an error must survive the trip too
    result = run_cli(
        "eval", "capitals", "--format", "json", "--registry", server.url, cwd=eval_repo.path
    )
    assert result.exit_code == 0, result.stderr
    printed = RunResult.model_validate_json(result.stdout)
    stored = registry.get_run(printed.run_id)
    assert stored == printed
    assert stored.model_dump(mode="json") == json.loads(result.stdout)

    runs = registry.list_runs(prompt="capitals").runs
    assert [r.run_id for r in runs] == [printed.run_id]
    assert runs[0].dataset.version == 1  # the published version with that hash
    assert runs[0].error_count == 1
    assert runs[0].item_count == 3
    assert runs[0].commit == eval_repo.head()
    assert registry.list_runs(dataset="nothing").runs == []
    with pytest.raises(PromptNotFound):
        registry.get_run("no-such-run")


def test_two_runs_compare_item_by_item_changed_verdicts_first(
    eval_repo: GitRepo, openai_env: FakeOpenAI, server: ServerProcess, registry: RegistryClient
) -> None:
    def run(*args: str) -> RunResult:
        out = run_cli(
            "eval",
            "capitals",
            "--format",
            "json",
            "--registry",
            server.url,
            *args,
            cwd=eval_repo.path,
        )
        return RunResult.model_validate_json(out.stdout)

    base = run()
    openai_env.reply_when("Peru", "I do not know.")  # drops the country: `mentions` flips
    head = run("--no-cache")
    comparison = registry.compare_runs(base.run_id, head.run_id)
    assert comparison.items[0].id == "pe"
    assert comparison.items[0].verdict_changed
    assert comparison.items[0].scores["mentions"].diff == -1.0
    assert [c.changed for c in comparison.items[1:]] == [False, False]
    assert comparison.aggregates["mentions"].base == 1.0
    assert comparison.aggregates["mentions"].head == pytest.approx(2 / 3)


def test_an_ingest_key_records_a_run_a_read_key_does_not(
    db_url: str, eval_repo: GitRepo, openai_env: FakeOpenAI
) -> None:
    store = Store.open(db_url)
    migrate.upgrade(store.engine)
    ingest = store.create_key(["ingest"], "ci").key
    reader = store.create_key(["read"], "dashboards").key
    store.close()
    with ServerProcess(db_url, auth=True) as proc:
        refused = run_cli(
            "eval", "capitals", "--registry", proc.url, "--api-key", reader, cwd=eval_repo.path
        )
        assert refused.exit_code == 1
        assert "ingest" in refused.stderr
        recorded = run_cli(
            "eval",
            "capitals",
            "--format",
            "json",
            "--registry",
            proc.url,
            "--api-key",
            ingest,
            cwd=eval_repo.path,
        )
        assert recorded.exit_code == 0, recorded.stderr
        run_id = json.loads(recorded.stdout)["run_id"]
        with RegistryClient(proc.url, reader) as client:
            assert [r.run_id for r in client.list_runs().runs] == [run_id]
        with RegistryClient(proc.url, ingest) as client, pytest.raises(Unauthorized):
            client.list_runs()


def test_each_item_is_a_trace_linked_to_the_prompt_version_with_its_scores(
    eval_repo: GitRepo, openai_env: FakeOpenAI, server: ServerProcess
) -> None:
    result = run_cli(
        "eval", "capitals", "--format", "json", "--registry", server.url, cwd=eval_repo.path
    )
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)
    france = next(item for item in run["items"] if item["id"] == "fr")
    trace = httpx.get(f"{server.url}/api/v1/traces/{france['trace_id']}").json()
    assert trace["name"] == "eval capitals"
    assert trace["metadata"]["run_id"] == run["run_id"]
    assert trace["metadata"]["item_id"] == "fr"
    assert trace["metadata"]["dataset_hash"] == run["dataset"]["hash"]
    generation = next(o for o in trace["observations"] if o["type"] == "generation")
    assert generation["prompt"]["name"] == "capitals"
    assert generation["prompt"]["version"] == 1
    assert generation["prompt"]["hash"] == run["prompt"]["hash"]
    assert generation["output"] == france["output"]
    scores = {s["name"]: s for s in trace["scores"]}
    assert scores["mentions"]["value"] == 1.0
    assert scores["mentions"]["comment"] == "asked about France"
    assert scores["echoes"]["value"] == 1.0


def test_eval_of_a_registry_label_and_run_experiment_on_a_registry_dataset(
    eval_repo: GitRepo, openai_env: FakeOpenAI, server: ServerProcess, registry: RegistryClient
) -> None:
    from promptrail.eval import run_experiment

    eval_repo.write_prompt("capitals", CAPITALS_PROMPT + "labels: [production]\n")
    eval_repo.commit("label production")
    assert run_cli("publish", "--registry", server.url, cwd=eval_repo.path).exit_code == 0
    published = run_cli(
        "eval",
        "capitals",
        "--label",
        "production",
        "--format",
        "json",
        "--registry",
        server.url,
        cwd=eval_repo.path,
    )
    assert published.exit_code == 0, published.stderr
    data = json.loads(published.stdout)
    assert data["prompt"]["source"] == "registry"
    assert data["prompt"]["label"] == "production"
    assert data["prompt"]["version"] == 1
    assert data["aggregates"]["mentions"] == 1.0

    result = run_experiment(
        "capitals-app",
        data="capitals",
        task=lambda input: f"The capital of {input['country']}",
        evaluators=[{"type": "contains", "value": "capital", "name": "says_capital"}],
        registry=server.url,
        record=True,
    )
    assert result.dataset.version == 1
    assert result.aggregates == {"says_capital": 1.0}
    assert registry.get_run(result.run_id) == result
