"""Evaluation fixtures: a real git repository with a prompt, a dataset and its checks, and
a local server speaking OpenAI's HTTP API (driven by the real `openai` package)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import GitRepo
from promptrail.testing.fake_openai import FakeOpenAI

CAPITALS_PROMPT = """
version: 1
type: chat
messages:
  - role: system
    content: Answer with the capital city only.
  - role: user
    content: "What is the capital of {{country}}?"
config:
  model: gpt-4o-mini
  temperature: 0
evals:
  - dataset: capitals
    evaluators:
      - {type: contains, value: "capital of", name: echoes}
      - {type: python, function: "evals.checks:mentions_country", name: mentions}
    gate: {mentions: {min: 0.9}}
"""

CAPITALS = """
description: Capital cities.
items:
  - id: fr
    input: {country: France}
    expected: Paris
    metadata: {region: europe}
  - id: jp
    input: {country: Japan}
    expected: Tokyo
  - id: pe
    input: {country: Peru}
    expected: Lima
"""

CHECKS = '''
def mentions_country(input, output, expected, metadata):
    """True when the answer names the country it was asked about."""
    return input["country"] in output, f"asked about {input['country']}"


async def length_score(output):
    return len(output) / 100
'''


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def openai_env(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("PROMPTRAIL_EVAL_CACHE", str(tmp_path / "cache.sqlite"))
    return fake


@pytest.fixture
def eval_repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write_prompt("capitals", CAPITALS_PROMPT)
    git_repo.write("datasets/capitals.yaml", CAPITALS)
    git_repo.write("evals/__init__.py", "")
    git_repo.write("evals/checks.py", CHECKS)
    git_repo.commit("capitals prompt, dataset and checks")
    return git_repo
