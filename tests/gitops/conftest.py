"""Fixtures for the GitOps tests: a registry per test (the app in this process, on a loopback
port the CLI talks to), and an API helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appserver import AppServer
from conftest import BACKENDS, MigratedTemplates

from .gitops_helpers import Api


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """An empty registry whose schema is made already (a copy of a migrated template):
    these tests are about publishing, not migrations."""
    with migrated_templates.copy(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def server(db_url: str) -> Iterator[AppServer]:
    with AppServer(db_url) as app:
        yield app


@pytest.fixture
def api(server: AppServer) -> Api:
    return Api(server.url)


@pytest.fixture
def second_db_url(
    db_url: str, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """Another empty registry on the same backend as `db_url`."""
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    (tmp_path / "second").mkdir()
    with migrated_templates.copy(backend, tmp_path / "second") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def shared_api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_templates: MigratedTemplates,
) -> Iterator[Api]:
    """One registry for a module's tests that use prompt names of their own and make no
    claim about the whole registry (no --prune, no plan --check)."""
    folder = tmp_path_factory.mktemp("shared")
    with migrated_templates.copy(request.param, folder) as url, AppServer(url) as app:
        yield Api(app.url)
