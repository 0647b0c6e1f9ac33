"""`promptrail import langfuse`: from a promptrail server's own Langfuse API as the source
and from a recorded Langfuse response set; `publish --history` of the imported repository
reproduces the source's versions and labels exactly, and a second import adds nothing."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import yaml

from conftest import GitRepo, run_cli
from langfuse_compat.conftest import start
from langfuse_compat.kit import LangfuseServer
from promptrail.gitops.langfuse_import import LangfuseSource, import_langfuse
from promptrail.repo.repository import PromptRepo

RECORDED = Path(__file__).with_name("fixtures") / "langfuse_project.json"


def _registry(server: LangfuseServer) -> dict[str, Any]:
    """name -> (versions -> hash, labels) as promptrail's own API reports them."""
    with server.client(bearer=True) as http:
        state = http.get("/api/v1/state").json()["prompts"]
    return {name: (p["versions"], p["labels"]) for name, p in state.items()}


@pytest.fixture
def empty(tmp_path: Path) -> Any:
    with contextlib.ExitStack() as stack:
        (tmp_path / "empty").mkdir()
        yield start(tmp_path / "empty", f"sqlite:///{tmp_path / 'empty.db'}", stack, examples=False)


def _log(repo: GitRepo) -> list[str]:
    return repo.git("log", "--format=%s|%aI", "--reverse").splitlines()


def test_import_from_promptrail_then_publish_history_reproduces_it(
    server: LangfuseServer,
    empty: LangfuseServer,
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", server.public_key)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", server.secret_key)
    done = run_cli("import", "langfuse", str(git_repo.path), "--host", server.url)
    assert done.exit_code == 0, done.output
    assert "Imported 3 versions of 2 prompts" in done.output
    log = _log(git_repo)
    assert log[:3] == [
        "summarize: version 1|2026-01-01T09:00:00+00:00",
        "support/triage: version 1|2026-01-02T09:00:00+00:00",
        "summarize: version 2|2026-01-03T09:00:00+00:00",
    ]
    assert log[3].startswith("Labels as in Langfuse at import|")
    assert len(log) == 4
    summarize = yaml.safe_load((git_repo.path / "prompts/summarize.yaml").read_text())
    assert summarize["version"] == 2
    assert summarize["labels"] == {"production": 1, "staging": 2}
    assert summarize["tags"] == ["internal"]
    valid = run_cli("validate", str(git_repo.path))
    assert valid.exit_code == 0, valid.output

    registry = ["--registry", empty.url, "--api-key", empty.admin_key]
    published = run_cli("publish", str(git_repo.path), "--history", *registry)
    assert published.exit_code == 0, published.output
    assert _registry(empty) == _registry(server)

    commits = _log(git_repo)
    again = run_cli("import", "langfuse", str(git_repo.path), "--host", server.url)
    assert again.exit_code == 0, again.output
    assert "Nothing new" in again.output
    assert _log(git_repo) == commits


def _recorded_transport() -> httpx.MockTransport:
    recorded: dict[str, Any] = json.loads(RECORDED.read_text())["responses"]

    def answer(request: httpx.Request) -> httpx.Response:
        query = "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(request.url.query.decode())))
        key = f"{request.method} {request.url.raw_path.decode().split('?')[0]}" + (
            f"?{query}" if query else ""
        )
        if key not in recorded:
            return httpx.Response(404, json={"message": f"not recorded: {key}"})
        return httpx.Response(200, json=recorded[key])

    return httpx.MockTransport(answer)


def test_import_from_a_recorded_langfuse_project(empty: LangfuseServer, git_repo: GitRepo) -> None:
    expected = json.loads(RECORDED.read_text())["expected"]
    source = LangfuseSource(
        "https://langfuse.example", "pk-lf-1", "sk-lf-1", transport=_recorded_transport()
    )
    (git_repo.path / "prompts").mkdir()
    lines: list[str] = []
    result = import_langfuse(PromptRepo(git_repo.path), source, progress=lines.append)
    assert result.renamed == {"Support Bot": "support-bot"}
    assert result.versions == 4
    assert result.datasets == 1
    assert any("Support Bot" in line for line in lines)  # progress, per prompt

    dataset = (git_repo.path / "datasets/capitals.yaml").read_text()
    assert "expected: Paris" in dataset
    assert "country: France" in dataset

    registry = ["--registry", empty.url, "--api-key", empty.admin_key]
    published = run_cli("publish", str(git_repo.path), "--history", *registry)
    assert published.exit_code == 0, published.output
    state = _registry(empty)
    numbers = {name: sorted(int(v) for v in versions) for name, (versions, _) in state.items()}
    assert numbers == expected["versions"]
    assert {name: labels for name, (_, labels) in state.items()} == expected["labels"]
    with empty.client(bearer=True) as http:
        chat = http.get("/api/v1/prompts/support-bot", params={"version": 2}).json()
        assert chat["messages"][1] == {"role": "placeholder", "name": "history"}

    again = import_langfuse(PromptRepo(git_repo.path), source)
    assert again.commits == []
