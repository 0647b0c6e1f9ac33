"""A promptrail server with auth on, a key pair for the Langfuse SDK, example prompts
published, and a fake OpenAI endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import BACKENDS, empty_database
from langfuse_compat.kit import LangfuseServer, publish_examples
from promptrail.store import Store, migrate
from promptrail.testing.fake_openai import FakeOpenAI
from serverproc import ServerProcess


def start(
    folder: Path, url: str, stack: contextlib.ExitStack, *, examples: bool = True, **env: str
) -> LangfuseServer:
    store = Store.open(url)
    migrate.upgrade(store.engine)
    # What a team gives an app: read prompts, send traces and scores; no deploy.
    pair = store.create_key(["read", "ingest", "publish"], "langfuse sdk", pair=True)
    admin = store.create_key(["admin"], "tests")
    store.close()
    proc = stack.enter_context(
        ServerProcess(url, auth=True, env=env, log_path=folder / "server.log")
    )
    assert pair.public_key is not None
    server = LangfuseServer(proc, pair.public_key, pair.key, admin.key)
    if examples:
        publish_examples(server.url, admin.key)
    return server


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LangfuseServer]:
    folder = tmp_path_factory.mktemp("langfuse-server")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(empty_database(request.param, folder))
        yield start(folder, url, stack)


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[LangfuseServer]:
    """A server that accepts prompt writes through the Langfuse API (recorded as drift)."""
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'registry.db'}"
        yield start(tmp_path, url, stack, examples=False, PROMPTRAIL_LANGFUSE_WRITES="on")


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def api(server: LangfuseServer) -> Iterator[httpx.Client]:
    """HTTP as the Langfuse SDK speaks it: Basic auth with the key pair."""
    with server.client() as client:
        yield client


@pytest.fixture
def native(server: LangfuseServer) -> Iterator[httpx.Client]:
    """promptrail's own API with an admin key."""
    with server.client(bearer=True) as client:
        yield client
