"""Fixtures for OpenTelemetry in and out: a server with auth on and a key pair per database,
a published prompt to link to, and helpers to read traces back."""

from __future__ import annotations

import base64
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import BACKENDS, empty_database
from promptrail.api.client import RegistryClient
from serverproc import ServerProcess
from uploads import upload

PROMPT = "otel-tests/answer"
MAX_BODY = 1_000_000  # bytes the test server accepts in one request


@dataclass
class OtelServer:
    proc: ServerProcess
    public_key: str
    secret_key: str
    reader: str  # a read key, for the query API
    prompt_hash: str  # of PROMPT version 2

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def basic(self) -> dict[str, str]:
        pair = f"{self.public_key}:{self.secret_key}".encode()
        return {"authorization": "Basic " + base64.b64encode(pair).decode()}

    def query(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=10, headers={"authorization": f"Bearer {self.reader}"}
        )

    def trace(self, trace_id: str, *, spans: int, timeout: float = 10.0) -> dict[str, Any]:
        """The trace once `spans` observations of it are stored."""
        deadline = time.monotonic() + timeout
        with self.query() as http:
            while True:
                response = http.get(f"/api/v1/traces/{trace_id}")
                if response.status_code == 200 and len(response.json()["observations"]) >= spans:
                    return response.json()  # type: ignore[no-any-return]
                assert time.monotonic() < deadline, (response.status_code, response.text[:500])
                time.sleep(0.05)


@pytest.fixture(scope="session", params=BACKENDS)
def otel_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OtelServer]:
    from promptrail.store import Store, migrate

    folder = tmp_path_factory.mktemp("otel-server")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(empty_database(request.param, folder))
        store = Store.open(url)
        migrate.upgrade(store.engine)
        pair = store.create_key(["ingest"], "otel exporter", pair=True)
        reader = store.create_key(["read"], "otel reader")
        admin = store.create_key(["admin"], "otel admin")
        store.close()
        server = ServerProcess(url, auth=True, log_path=folder / "server.log")
        server.extra_args = ["--max-body-size", str(MAX_BODY)]
        proc = stack.enter_context(server)
        with RegistryClient(proc.url, admin.key) as client:
            from promptrail.api.registry import LabelMove, PublishRequest, PublishSource

            made = [upload(PROMPT, n, prompt=f"Answer v{n}: {{{{q}}}}") for n in (1, 2)]
            client.publish(
                PublishRequest(
                    source=PublishSource(commit="b" * 40, author="otel"),
                    versions=made,
                    labels=[LabelMove(name=PROMPT, label="production", version=2)],
                )
            )
            digest = client.get(PROMPT, label="production").hash
        assert pair.public_key is not None
        yield OtelServer(proc, pair.public_key, pair.key, reader.key, digest)


def new_trace_id() -> str:
    return uuid.uuid4().hex


def new_span_id() -> str:
    return uuid.uuid4().hex[:16]
