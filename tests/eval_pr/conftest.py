"""A prompt repository with a dataset, and a local OpenAI-compatible server that knows it.

The server answers the capital of a country only when the prompt asks in the "good"
wording (GOOD), and otherwise with its default reply (a quote of the question), so the
wording of a prompt decides its score, as it would with a real model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import GitRepo, run_cli
from promptrail.testing.fake_openai import FakeOpenAI

CAPITALS = {
    "France": "Paris",
    "Germany": "Berlin",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Japan": "Tokyo",
    "Peru": "Lima",
    "Egypt": "Cairo",
    "Kenya": "Nairobi",
    "Chile": "Santiago",
    "Norway": "Oslo",
    "Cuba": "Havana",
    "Greece": "Athens",
}
GOOD = "Name the capital city of {{country}}"  # the server knows the answer to this
BAD = "Tell me about {{country}}"  # ... and merely echoes this


def prompt_file(text: str, version: int, *, gate: str = "", samples: int = 1) -> str:
    lines = [
        f"version: {version}",
        "type: chat",
        "messages:",
        "  - role: user",
        f"    content: {json.dumps(text)}",
        "config: {model: gpt-4o-mini, temperature: 0}",
        "evals:",
        "  - dataset: capitals",
        f"    samples: {samples}",
        "    evaluators:",
        "      - {type: exact, name: exact}",
    ]
    if gate:
        lines.append(f"    gate: {gate}")
    return "\n".join(lines) + "\n"


def dataset_file() -> str:
    lines = ["description: Capital cities.", "items:"]
    for n, (country, capital) in enumerate(CAPITALS.items()):
        lines += [
            f"  - id: c{n:02d}",
            f"    input: {{country: {country}}}",
            f"    expected: {capital}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        for country, capital in CAPITALS.items():
            server.reply_when(GOOD.replace("{{country}}", country), capital)
        yield server


@pytest.fixture
def llm_env(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("PROMPTRAIL_EVAL_CACHE", str(tmp_path / "eval-cache.sqlite"))
    return fake


@pytest.fixture
def eval_repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("datasets/capitals.yaml", dataset_file())
    return git_repo


def eval_base(repo: Path, *args: str) -> tuple[int, dict, str]:
    result = run_cli("eval", "--base", "main", "--format", "json", *args, cwd=repo)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"no JSON (exit {result.exit_code}): {result.output}") from None
    return result.exit_code, report, result.stderr
