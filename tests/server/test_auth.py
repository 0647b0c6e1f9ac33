"""API keys: nothing writes without a key of the right scope, and reads need `read`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from kit import request, text_version
from promptrail.errors import Unauthorized
from waiting import wait_until

from .conftest import AuthServer

BAD_KEYS = {
    "no key": None,
    "wrong key": "prk_this-key-was-never-made-000000000000",
    "not bearer": "Basic YWRtaW46YWRtaW4=",
}


def _name() -> str:
    return f"auth{uuid.uuid4().hex[:8]}/p"


def _write_routes(name: str, key_id: int) -> list[tuple[str, str, Any, str]]:
    """(method, path, json body, scope it needs) for every route that writes."""
    body = request([text_version(name, 1, "x")], [(name, "staging", 1, None)])
    return [
        ("POST", "/api/v1/publish", body.model_dump(mode="json"), "publish"),
        ("POST", "/api/v1/keys", {"scopes": ["admin"]}, "admin"),
        ("DELETE", f"/api/v1/keys/{key_id}", None, "admin"),
    ]


def _snapshot(server: AuthServer) -> tuple[Any, Any]:
    """The registry state and the keys (without last use, which reads update)."""
    with server.client() as admin:
        keys = [k.model_dump(exclude={"last_used_at"}) for k in admin.list_keys()]
        return admin.state(), keys


def test_every_write_route_refuses_missing_wrong_revoked_and_underscoped_keys(
    auth_server: AuthServer,
) -> None:
    name = _name()
    before = _snapshot(auth_server)
    routes = _write_routes(name, auth_server.key_ids["read"])
    with httpx.Client(base_url=auth_server.url, timeout=10) as http:
        for method, path, body, needed in routes:
            attempts: dict[str, str | None] = dict(BAD_KEYS)
            attempts["revoked key"] = f"Bearer {auth_server.keys['revoked']}"
            for label, header in attempts.items():
                if header is not None and not header.startswith(("Bearer", "Basic")):
                    header = f"Bearer {header}"
                headers = {"authorization": header} if header else {}
                response = http.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (method, path, label, response.text)
                assert response.json()["error"] == "unauthorized"
                assert response.headers["www-authenticate"] == "Bearer"
            weak = ["read", "ingest"] if needed == "publish" else ["read", "publish", "deploy"]
            for scope in weak:
                response = http.request(method, path, json=body, headers=auth_server.headers(scope))
                assert response.status_code == 403, (method, path, scope, response.text)
                assert f"needs a key with the `{needed}` scope" in response.json()["message"]
    assert _snapshot(auth_server) == before


def test_messages_say_what_to_do(auth_server: AuthServer) -> None:
    with httpx.Client(base_url=auth_server.url, timeout=10) as http:
        missing = http.post("/api/v1/publish", json={}).json()["message"]
        assert "send `Authorization: Bearer <key>`" in missing
        assert "promptrail keys create --scope publish" in missing
        revoked = http.post(
            "/api/v1/publish", json={}, headers=auth_server.headers("revoked")
        ).json()["message"]
        assert f"(id {auth_server.key_ids['revoked']}) was revoked" in revoked


def test_protected_labels_need_deploy_and_previews_need_only_publish(
    auth_server: AuthServer,
) -> None:
    name = _name()
    with auth_server.client("publish") as ci:
        ci.publish(request([text_version(name, 1, "x")], [(name, "staging", 1, None)]))
        before = ci.state([name])
        with pytest.raises(Unauthorized, match="needs a key with the `deploy` scope") as refused:
            ci.publish(request([text_version(name, 2, "y")], [(name, "production", 2, None)]))
        assert refused.value.status == 403
        assert "production of " + name in str(refused.value)
        assert ci.state([name]) == before
        ci.publish(request([text_version(name, 2, "pr")], [(name, "pr-5", 2, None)]))
        assert ci.get(name, label="pr-5").prompt == "pr"
    with auth_server.client("deploy") as main:
        main.publish(request([text_version(name, 2, "y")], [(name, "production", 2, None)]))
        assert main.get(name).version == 2


def test_reads_need_a_read_key_even_when_cached(auth_server: AuthServer) -> None:
    name = _name()
    with auth_server.client("publish") as ci:
        ci.publish(request([text_version(name, 1, "x")], [(name, "staging", 1, None)]))
    path = f"/api/v1/prompts/{name}?label=staging"
    with httpx.Client(base_url=auth_server.url, timeout=10) as http:
        for _ in range(3):  # the first read fills the cache; the others are served from it
            assert http.get(path, headers=auth_server.headers("read")).status_code == 200
        assert http.get(path).status_code == 401
        assert http.get(path, headers=auth_server.headers("ingest")).status_code == 403
        assert http.get(path, headers=auth_server.headers("revoked")).status_code == 401
        assert http.get("/api/v1/state").status_code == 401
        assert http.get("/api/v1/health").status_code == 200  # no key needed

        with auth_server.client() as admin:
            reader = admin.create_key(["read"], "short-lived")
        headers = {"authorization": f"Bearer {reader.key}"}
        assert http.get(path, headers=headers).status_code == 200
        assert http.get(path, headers=headers).status_code == 200  # cached path, cached key
        with auth_server.client() as admin:
            admin.revoke_key(reader.id)
        assert http.get(path, headers=headers).status_code == 401  # at once


def test_a_key_revoked_in_the_database_stops_working_within_a_second(
    auth_server: AuthServer,
) -> None:
    from promptrail.store import Store

    store = Store.open(auth_server.db_url)
    try:
        made = store.create_key(["read"], "revoked behind the server's back")
        headers = {"authorization": f"Bearer {made.key}"}
        with httpx.Client(base_url=auth_server.url, timeout=10) as http:
            assert http.get("/api/v1/state?names=x", headers=headers).status_code == 200
            store.revoke_key(made.id)
            wait_until(
                lambda: http.get("/api/v1/state?names=x", headers=headers).status_code,
                lambda status: status != 200,
                within=1.0,
                every=0.05,
                what="the revoked key refused",
            )
        [listed] = [k for k in store.list_keys() if k.id == made.id]
        assert listed.last_used_at is not None
        assert listed.revoked_at is not None
    finally:
        store.close()


def _basic(public: str, secret: str) -> dict[str, str]:
    import base64

    return {"authorization": "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()}


def test_a_key_pair_works_as_http_basic_and_its_secret_as_bearer(
    auth_server: AuthServer,
) -> None:
    name = _name()
    with auth_server.client() as admin:
        pair = admin.create_key(["publish"], "pair", pair=True)
        reader = admin.create_key(["read"], "pair reader", pair=True)
        listed = {k.id: k for k in admin.list_keys()}
    assert pair.public_key is not None
    assert pair.public_key.startswith("pk-pr-")
    assert pair.key.startswith("sk-pr-")
    assert listed[pair.id].public_key == pair.public_key
    assert listed[auth_server.key_ids["admin"]].public_key is None  # old keys: no pair
    body = request([text_version(name, 1, "x")], [(name, "staging", 1, None)])
    path = f"/api/v1/prompts/{name}?label=staging"
    assert reader.public_key is not None
    with httpx.Client(base_url=auth_server.url, timeout=10) as http:
        basic = _basic(pair.public_key, pair.key)
        published = http.post("/api/v1/publish", json=body.model_dump(mode="json"), headers=basic)
        assert published.status_code == 200, published.text
        assert http.get(path, headers=basic).status_code == 200  # publish includes read
        assert http.get(path, headers={"authorization": f"Bearer {pair.key}"}).status_code == 200
        # the scopes are the pair's: a read pair cannot publish
        weak = http.post(
            "/api/v1/publish",
            json=body.model_dump(mode="json"),
            headers=_basic(reader.public_key, reader.key),
        )
        assert weak.status_code == 403
        assert "needs a key with the `publish` scope" in weak.json()["message"]
        refused = {
            "another pair's public key": _basic(reader.public_key, pair.key),
            "a secret that was never made": _basic(pair.public_key, "sk-pr-never-made"),
            "an old key as a secret under a public key": _basic(
                pair.public_key, auth_server.keys["read"]
            ),
            "not base64": {"authorization": "Basic %%%not-base64"},
            "no colon": {"authorization": "Basic " + "c2VjcmV0"},  # "secret"
        }
        for label, headers in refused.items():
            response = http.get(path, headers=headers)
            assert response.status_code == 401, (label, response.text)
        assert "public:secret" in http.get(path, headers=refused["no colon"]).json()["message"]
        assert (
            "key pair"
            in http.get(path, headers=refused["a secret that was never made"]).json()["message"]
        )
        with auth_server.client() as admin:
            admin.revoke_key(pair.id)
        assert http.get(path, headers=basic).status_code == 401
