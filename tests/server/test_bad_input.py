"""Bad input gets a 4xx with a message a person can act on, never a 5xx, and stores nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from appserver import AppServer
from kit import request, text_version
from promptrail.api.client import RegistryClient

from .conftest import MAX_BODY


def _raw_get(server: AppServer, target: str) -> tuple[int, bytes]:
    """A GET with the path sent byte for byte (httpx would normalise `..`)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("/api/v1/prompts/a/../b", "invalid prompt name 'a/../b'"),
        ("/api/v1/prompts/a/%2E%2E/b", "invalid prompt name 'a/../b'"),
        ("/api/v1/prompts/a%00b", "invalid prompt name 'a\\x00b'"),
        ("/api/v1/prompts/a%0Ab", "invalid path '/api/v1/prompts/a\\nb'"),
        ("/api/v1/prompts/Upper/Case", "invalid prompt name 'Upper/Case'"),
        ("/api/v1/prompts/a/", "invalid prompt name 'a/'"),
        ("/api/v1/versions/a/../b", "invalid prompt name"),
        ("/api/v1/history/a%1Fb", "invalid prompt name"),
        (
            "/api/v1/prompts/a?version=abc",
            "query parameter version: Input should be a valid integer",
        ),
        ("/api/v1/prompts/a?version=0", "query parameter version: Input should be greater than"),
        ("/api/v1/prompts/a?version=99999999999", "query parameter version"),
        ("/api/v1/prompts/a?label=Bad%20Label", "invalid label 'Bad Label'"),
        ("/api/v1/prompts/a?label=x&version=1", "ask for a label or a version, not both"),
        ("/api/v1/prompts/a?lable=staging", "unknown query parameter 'lable'"),
    ],
)
def test_bad_names_and_parameters_are_4xx_with_a_message(
    server: AppServer, target: str, says: str
) -> None:
    status, body = _raw_get(server, target)
    assert 400 <= status < 500, (status, body)
    assert says in httpx.Response(status, content=body).json()["message"]


@pytest.fixture
def unchanged(client: RegistryClient) -> Iterator[None]:
    """Asserts the test leaves the registry exactly as it found it."""
    before = client.state()
    yield
    assert client.state() == before


@pytest.mark.usefixtures("unchanged")
def test_malformed_and_oversized_bodies_are_refused(http: httpx.Client) -> None:
    cases = [
        (b"{not json", "application/json", 422, "the body is not valid JSON"),
        (b"[]", "application/json", 422, "body: Input should be a valid dictionary"),
        (
            b'{"versions": "many"}',
            "application/json",
            422,
            "body versions: Input should be a valid list",
        ),
        (
            b'{"surprise": 1}',
            "application/json",
            422,
            "body surprise: Extra inputs are not permitted",
        ),
        (b'{"labels": []}', "text/plain", 422, "send a JSON object with Content-Type"),
        (
            b"x" * (MAX_BODY + 1),
            "application/json",
            413,
            f"larger than this server accepts ({MAX_BODY} bytes)",
        ),
    ]
    for body, content_type, status, says in cases:
        response = http.post(
            "/api/v1/publish", content=body, headers={"content-type": content_type}
        )
        assert response.status_code == status, (body[:30], response.text)
        assert says in response.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY // 10_000 + 2):
            yield b" " * 10_000

    chunked = http.post(
        "/api/v1/publish", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.json()["error"] == "too_large"


@pytest.mark.usefixtures("unchanged")
def test_invalid_publishes_are_400_and_store_nothing(
    client: RegistryClient, unique_name: str
) -> None:
    good = text_version(unique_name, 1, "hello")
    cases = [
        (request([good.model_copy(update={"name": "a/../b"})]), "invalid prompt name 'a/../b'"),
        (
            request([good.model_copy(update={"name": "bad\x00name"})]),
            "versions[0].name: contains a NUL",
        ),
        (request([good.model_copy(update={"hash": "0" * 64})]), "is not the hash of the content"),
        (request([good.model_copy(update={"prompt": None})]), "a text version has `prompt`"),
        (request([good.model_copy(update={"version": 0})]), "version must be a whole number"),
        (request([good], [(unique_name, "Not A Label", 1, None)]), "invalid label 'Not A Label'"),
        (
            request([good], [(unique_name, "x", 1, None), (unique_name, "x", 1, None)]),
            "moved twice",
        ),
        (
            request([good, text_version(unique_name, 1, "other")]),
            "uploaded twice with other content",
        ),
        (request(metadata={unique_name: {"colour": "red"}}), "unknown fields ['colour']"),
        (request(metadata={"never/seen": {"tags": ["x"]}}), "has no version in the registry"),
    ]
    for body, says in cases:
        response = httpx.post(f"{client.url}/api/v1/publish", json=body.model_dump(mode="json"))
        # 422: refused by the body's schema (a NUL no database can store), 400: by the rules
        assert response.status_code == (422 if "NUL" in says else 400), (says, response.text)
        assert says in response.json()["message"]
        assert response.json()["error"] == "invalid"


def test_unknown_routes_and_methods_answer_json(http: httpx.Client) -> None:
    missing = http.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "no_route"
    wrong = http.put("/api/v1/publish", json={})
    assert wrong.status_code == 405
    assert wrong.json()["message"] == "PUT is not allowed on /api/v1/publish"
