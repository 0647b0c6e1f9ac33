"""Registry fixtures: the app in this process (appserver.py) on SQLite and PostgreSQL.

The servers most tests share live for the session (one per database, with and without
auth); tests keep apart by using prompt names of their own (`unique_name`). `client` and
`http` reach the app over an ASGI transport; `server.url` is a loopback port for what
needs an address (the CLI, raw sockets). Tests that need a database or a process to
themselves (crashes, migrations, several processes) use `db_url` and start their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from appserver import AppServer
from conftest import BACKENDS, empty_database
from promptrail.api.client import RegistryClient

MAX_BODY = 200_000  # the shared servers' --max-body-size, so 413 is cheap to provoke


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with empty_database(request.param, tmp_path_factory.mktemp("registry")) as url:
        yield url


@pytest.fixture(scope="session")
def server(backend_url: str) -> Iterator[AppServer]:
    with AppServer(backend_url, max_body_bytes=MAX_BODY) as app:
        yield app


@pytest.fixture
def client(server: AppServer) -> Iterator[RegistryClient]:
    with RegistryClient(server.url, transport=server.transport()) as registry:
        yield registry


@pytest.fixture
def http(server: AppServer) -> Iterator[httpx.Client]:
    with server.http(timeout=10) as raw:
        yield raw


@dataclass
class AuthServer:
    proc: AppServer
    db_url: str
    keys: dict[str, str] = field(default_factory=dict)  # scope (or "revoked") -> secret
    key_ids: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.proc.url

    def client(self, who: str | None = "admin") -> RegistryClient:
        return RegistryClient(
            self.url, self.keys[who] if who else "", transport=self.proc.transport()
        )

    def headers(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture(scope="session", params=BACKENDS)
def auth_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[AuthServer]:
    """A server with auth on, and keys of every scope (plus one revoked) made in its database."""
    from promptrail.store import Store, migrate

    with empty_database(request.param, tmp_path_factory.mktemp("auth")) as url:
        store = Store.open(url)
        migrate.upgrade(store.engine)
        made = AuthServer(AppServer(url, auth=True, max_body_bytes=MAX_BODY), url)
        for scope in ("read", "publish", "deploy", "ingest", "admin", "revoked"):
            key = store.create_key(["read" if scope == "revoked" else scope], f"test {scope}")
            made.keys[scope], made.key_ids[scope] = key.key, key.id
        store.revoke_key(made.key_ids["revoked"])
        store.close()
        with made.proc:
            yield made


@pytest.fixture
def unique_name() -> str:
    return f"t{uuid.uuid4().hex[:10]}/prompt"
