"""Fixtures for the GitOps tests: a real registry server per test, and an API helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serverproc import ServerProcess

from .gitops_helpers import Api


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(db_url, log_path=tmp_path / "server.log") as proc:
        yield proc


@pytest.fixture
def api(server: ServerProcess) -> Api:
    return Api(server.url)


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
    else:
        from conftest import fresh_postgres_database

        with fresh_postgres_database() as url:
            yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """One registry for a module's tests that use prompt names of their own and make no
    claim about the whole registry (no --prune, no plan --check): saves a server start."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('shared') / 'registry.db'}"
        with ServerProcess(url) as proc:
            yield Api(proc.url)
    else:
        from conftest import fresh_postgres_database

        with fresh_postgres_database() as url, ServerProcess(url) as proc:
            yield Api(proc.url)
