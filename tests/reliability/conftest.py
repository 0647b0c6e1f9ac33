"""Reliability fixtures: the in-process app on each database with keys of every scope,
and the `--full` switch that runs the probes at the sizes the hardening issue reports.

`make test` runs the quick size; `pytest tests/reliability --full` the full one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from client.conftest import name, proxy, registry, snapshot_of  # noqa: F401 (shared fixtures)
from conftest import BACKENDS, empty_database

SCOPES = ("read", "publish", "deploy", "ingest", "admin")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run tests/reliability at full size (minutes), as reported in the hardening notes",
    )


@pytest.fixture(scope="session")
def full(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full"))


FULL_TIMEOUT = 1800  # seconds a probe may take at full size (the suite's timeout is 120)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """At full size a probe runs for minutes: give the ones here the time they need."""
    if not config.getoption("--full"):
        return
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(FULL_TIMEOUT))


def size(full: bool, quick: int, complete: int) -> int:
    return complete if full else quick


@dataclass
class App:
    """The registry app in this process (TestClient runs its lifespan) with keys made in
    its database: one per scope, plus "revoked"."""

    http: TestClient
    db_url: str
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[who]}"}


def make_keys(db_url: str, app: App) -> None:
    from promptrail.store import Store, migrate

    store = Store.open(db_url)
    try:
        migrate.upgrade(store.engine)
        for scope in (*SCOPES, "revoked"):
            made = store.create_key(["read" if scope == "revoked" else scope], f"test {scope}")
            app.keys[scope], app.key_ids[scope] = made.key, made.id
        store.revoke_key(app.key_ids["revoked"])
    finally:
        store.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request.param, tmp_path) as url:
        yield url


@contextlib.contextmanager
def running_app(db_url: str, **settings: Any) -> Iterator[App]:
    """The app on `db_url` with auth on and keys made; `settings` override Settings."""
    from promptrail.server.app import create_app
    from promptrail.server.settings import Settings

    made = App(http=None, db_url=db_url)  # type: ignore[arg-type]
    make_keys(db_url, made)
    chosen = {"max_body_bytes": 2_000_000, **settings}
    application = create_app(Settings(db_url=db_url, auth=True, **chosen))
    with TestClient(application, base_url="http://127.0.0.1") as http:
        made.http = http
        yield made


@pytest.fixture
def app(backend: str) -> Iterator[App]:
    with running_app(backend) as made:
        yield made
