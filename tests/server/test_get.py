"""Reading the registry: one prompt by label or version, ETags, listings and history."""

from __future__ import annotations

import httpx
import pytest

from kit import chat_version, publish_text, request, text_version
from promptrail.api.client import RegistryClient
from promptrail.errors import PromptNotFound


def test_get_by_label_and_version_has_the_shape_design_fixes(
    client: RegistryClient, http: httpx.Client, unique_name: str
) -> None:
    publish_text(client, unique_name, 1, "Hello {{name}}", {"production": None})
    client.publish(
        request(
            [text_version(unique_name, 2, "Hi {{name}}!", model="gpt-4o", temperature=0.2)],
            [(unique_name, "staging", 2, None)],
            metadata={unique_name: {"tags": ["greeting"], "description": "Says hello"}},
        )
    )

    response = http.get(f"/api/v1/prompts/{unique_name}")  # production by default
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["name", "version", "type", "prompt", "config", "labels", "tags", "hash"]
    assert body["name"] == unique_name
    assert (body["version"], body["type"], body["prompt"]) == (1, "text", "Hello {{name}}")
    assert (body["config"], body["labels"], body["tags"]) == ({}, ["production"], ["greeting"])

    staged = http.get(f"/api/v1/prompts/{unique_name}", params={"label": "staging"}).json()
    assert staged["version"] == 2
    assert staged["config"] == {"model": "gpt-4o", "temperature": 0.2}
    assert staged["labels"] == ["latest", "staging"]
    assert (
        staged["hash"]
        == text_version(unique_name, 2, "Hi {{name}}!", model="gpt-4o", temperature=0.2).hash
    )
    assert http.get(f"/api/v1/prompts/{unique_name}?version=1").json()["labels"] == ["production"]
    assert http.get(f"/api/v1/prompts/{unique_name}?label=latest").json()["version"] == 2
    assert client.get(unique_name, version=2).prompt == "Hi {{name}}!"


def test_chat_prompt_serves_messages_not_prompt(client: RegistryClient, unique_name: str) -> None:
    messages = [
        {"role": "system", "content": "You triage tickets for {{product}}."},
        {"role": "placeholder", "name": "history"},
        {"role": "user", "content": "{{ticket}}"},
    ]
    client.publish(
        request([chat_version(unique_name, 3, messages)], [(unique_name, "production", 3, None)])
    )
    got = client.get(unique_name)
    assert got.type == "chat"
    assert got.prompt is None
    assert got.messages == messages
    raw = httpx.get(f"{client.url}/api/v1/prompts/{unique_name}").json()
    assert "prompt" not in raw
    assert raw["messages"] == messages


def test_etag_gives_304_until_the_label_moves(
    client: RegistryClient, http: httpx.Client, unique_name: str
) -> None:
    publish_text(client, unique_name, 1, "one", {"production": None})
    first = http.get(f"/api/v1/prompts/{unique_name}")
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    again = http.get(f"/api/v1/prompts/{unique_name}", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert (
        http.get(
            f"/api/v1/prompts/{unique_name}", headers={"if-none-match": f'W/{etag}, "x"'}
        ).status_code
        == 304
    )
    assert (
        http.get(f"/api/v1/prompts/{unique_name}", headers={"if-none-match": '"other"'}).status_code
        == 200
    )

    publish_text(client, unique_name, 2, "two", {"production": None})
    moved = http.get(f"/api/v1/prompts/{unique_name}", headers={"if-none-match": etag})
    assert moved.status_code == 200  # served by the publishing process at once
    assert moved.json()["prompt"] == "two"
    assert moved.headers["etag"] != etag


def test_unknown_prompt_label_and_version_are_404_with_a_message(
    client: RegistryClient, http: httpx.Client, unique_name: str
) -> None:
    missing = http.get("/api/v1/prompts/no-such/prompt")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert "no prompt named 'no-such/prompt'" in missing.json()["message"]

    publish_text(client, unique_name, 1, "one", {"staging": None})
    no_production = http.get(f"/api/v1/prompts/{unique_name}").json()
    assert no_production["message"] == (
        f"prompt {unique_name!r} has no label 'production' (its labels: latest, staging)"
    )
    assert (
        "no version 7 (its versions go up to 1)"
        in http.get(f"/api/v1/prompts/{unique_name}?version=7").json()["message"]
    )
    with pytest.raises(PromptNotFound, match="has no label 'gold'"):
        client.get(unique_name, label="gold")


def test_list_versions_and_history(client: RegistryClient, unique_name: str) -> None:
    publish_text(client, unique_name, 1, "one", {"production": None, "staging": None})
    publish_text(client, unique_name, 2, "two", {"staging": None})
    publish_text(client, unique_name, 3, "three", {"production": None, "staging": None})
    client.publish(request(moves=[(unique_name, "staging", None, 3)]))

    [summary] = [p for p in client.list_prompts().prompts if p.name == unique_name]
    assert summary.labels == {"production": 3}
    assert summary.latest_version == 3
    assert summary.path == f"prompts/{unique_name}.yaml"
    assert summary.updated_at.endswith("Z")

    versions = client.versions(unique_name)
    assert [v.version for v in versions.versions] == [3, 2, 1]
    assert versions.versions[0].labels == ["latest", "production"]
    assert versions.versions[0].commit == "a" * 40
    assert versions.versions[0].ci_run_url == "https://ci/1"

    events = [
        (e.label, e.from_version, e.to_version) for e in client.label_history(unique_name).events
    ]
    assert events == [
        ("staging", 3, None),
        ("staging", 2, 3),
        ("production", 1, 3),
        ("staging", 1, 2),
        ("staging", None, 1),
        ("production", None, 1),
    ]
    only = client.label_history(unique_name, label="production").events
    assert [(e.from_version, e.to_version) for e in only] == [(1, 3), (None, 1)]
    assert only[0].author == "Ada"
    assert only[0].publish_id is not None
    with pytest.raises(PromptNotFound):
        client.versions("never/published")


def test_openapi_documents_every_route_and_the_error_shape(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/prompts/{name}", "get"),
        ("/api/v1/prompts", "get"),
        ("/api/v1/versions/{name}", "get"),
        ("/api/v1/history/{name}", "get"),
        ("/api/v1/state", "get"),
        ("/api/v1/state", "post"),
        ("/api/v1/publish", "post"),
        ("/api/v1/keys", "post"),
        ("/api/v1/keys/{key_id}", "delete"),
        ("/api/v1/health", "get"),
    ]:
        assert method in paths[path], (path, method)
    schemas = spec["components"]["schemas"]
    for model in (
        "PublishRequest",
        "PublishResult",
        "RegistryState",
        "PublishedVersion",
        "ApiError",
    ):
        assert model in schemas
    publish = paths["/api/v1/publish"]["post"]["responses"]
    assert publish["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ApiError")
    get = paths["/api/v1/prompts/{name}"]["get"]
    assert get["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ApiError"
    )
    assert get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PublishedVersion"
    )
