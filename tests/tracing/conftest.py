"""Fixtures for the tracer: those in tracers.py, and a real server per database."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest

from conftest import fresh_postgres_database
from serverproc import ServerProcess
from tracers import _no_global_tracer, fake_llm, make_tracer, memory, use_tracer

__all__ = ["_no_global_tracer", "fake_llm", "make_tracer", "memory", "use_tracer"]


# -- a real server per database, shared: tests use ids and names of their own ----------


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("tracing-server")  # server.log is there
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'registry.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database())
        proc = stack.enter_context(ServerProcess(url, log_path=folder / "server.log"))
        yield proc


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
