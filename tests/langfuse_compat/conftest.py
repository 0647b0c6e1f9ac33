"""A promptrail server with example prompts published, and a fake OpenAI endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest

from conftest import fresh_postgres_database
from langfuse_compat.kit import publish_examples
from promptrail.testing.fake_openai import FakeOpenAI
from serverproc import ServerProcess


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("langfuse-server")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'registry.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database())
        proc = stack.enter_context(ServerProcess(url, log_path=folder / "server.log"))
        publish_examples(proc.url)
        yield proc


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
