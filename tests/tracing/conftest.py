"""Fixtures for the tracer: those in tracers.py, and a registry per database (the app in
this process: tracers export to its loopback port, tests read it over ASGI)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from appserver import AppServer
from conftest import BACKENDS, empty_database
from tracers import _no_global_tracer, fake_llm, make_tracer, memory, use_tracer

__all__ = ["_no_global_tracer", "fake_llm", "make_tracer", "memory", "use_tracer"]


# -- a real server per database, shared: tests use ids and names of their own ----------


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("tracing-server")
    with empty_database(request.param, folder) as url, AppServer(url) as server:
        yield server


@pytest.fixture
def api(server: AppServer) -> Iterator[httpx.Client]:
    with server.http(timeout=10) as client:
        yield client
