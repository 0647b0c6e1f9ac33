"""`promptrail keys` and `promptrail get`, and the errors the CLI's client turns replies into."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appserver import AppServer
from conftest import run_cli
from kit import publish_text, request, text_version
from promptrail.api.client import RegistryClient
from promptrail.errors import Conflict, RegistryUnavailable
from serverproc import free_port

from .conftest import AuthServer


def test_keys_bootstrap_in_the_database_then_manage_through_the_api(
    db_url: str, tmp_path: Path
) -> None:
    made = run_cli("keys", "create", "--db", db_url, "--scope", "admin", "--description", "boot")
    assert made.exit_code == 0, made.output
    admin = made.stdout.strip()
    assert admin.startswith("prk_")
    assert "shown only now" in made.stderr
    listed = run_cli("keys", "list", "--db", db_url)
    assert "admin" in listed.stdout
    assert admin[:12] in listed.stdout
    assert admin not in listed.stdout  # the secret is never shown again

    with AppServer(db_url, auth=True) as server:
        remote = ("--registry", server.url, "--api-key", admin)
        reader = run_cli("keys", "create", "--scope", "read", "--json", *remote)
        assert reader.exit_code == 0, reader.output
        created = json.loads(reader.stdout)
        assert created["scopes"] == ["read"]
        with RegistryClient(server.url, created["key"]) as client:
            assert client.state().prompts == {}
        revoked = run_cli("keys", "revoke", str(created["id"]), *remote)
        assert revoked.exit_code == 0, revoked.output
        assert f"key {created['id']}" in revoked.stdout
        refused = run_cli("get", "x", "--registry", server.url, "--api-key", created["key"])
        assert refused.exit_code == 1
        assert "was revoked" in refused.stderr
        not_admin = run_cli("keys", "list", "--registry", server.url, "--api-key", created["key"])
        assert not_admin.exit_code == 1
        bad_scope = run_cli("keys", "create", "--scope", "root", *remote)
        assert bad_scope.exit_code == 2
        assert "unknown scope 'root': choose from read, publish, deploy, ingest, admin" in (
            bad_scope.stderr
        )


def test_keys_needs_to_know_where_the_keys_live(tmp_path: Path) -> None:
    result = run_cli("keys", "list", cwd=tmp_path)
    assert result.exit_code == 2
    assert "--db URL" in result.stderr


def test_get_prints_the_prompt_or_json(server: AppServer, unique_name: str) -> None:
    with RegistryClient(server.url) as client:
        publish_text(client, unique_name, 1, "Hello {{name}}", {"production": None})
        client.publish(request([text_version(unique_name, 2, "Hi", model="m")]))
    shown = run_cli("get", unique_name, "--registry", server.url)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith(f"{unique_name} v1 (text; production; hash ")
    assert shown.stdout.rstrip().endswith("Hello {{name}}")
    as_json = run_cli("get", unique_name, "--version", "2", "--json", "--registry", server.url)
    data = json.loads(as_json.stdout)
    assert (data["version"], data["config"], data["labels"]) == (2, {"model": "m"}, ["latest"])
    missing = run_cli("get", unique_name, "--label", "gold", "--registry", server.url)
    assert missing.exit_code == 2  # usage: an unknown label
    assert "has no label 'gold'" in missing.stderr
    both = run_cli("get", unique_name, "--label", "x", "--version", "1", "--registry", server.url)
    assert both.exit_code == 2


def test_an_unreachable_registry_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("get", "x", "--registry", url)
    assert result.exit_code == 3
    assert f"cannot reach the registry at {url}" in result.stderr
    with RegistryClient(url) as client, pytest.raises(RegistryUnavailable, match=url):
        client.state()


def test_conflicts_carry_the_servers_message_and_details(
    client: RegistryClient, unique_name: str
) -> None:
    publish_text(client, unique_name, 1, "a", {"production": None})
    with pytest.raises(Conflict) as refused:
        client.publish(request([text_version(unique_name, 1, "b")]))
    assert refused.value.status == 409
    assert refused.value.details[0]["kind"] == "version_content"  # type: ignore[attr-defined]


def test_env_variables_configure_the_client(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTRAIL_URL", auth_server.url)
    monkeypatch.setenv("PROMPTRAIL_API_KEY", auth_server.keys["read"])
    with RegistryClient() as client:
        assert client.url == auth_server.url
        assert client.state(["nothing"]).prompts == {}


def test_keys_create_pair_prints_the_public_then_the_secret_key(db_url: str) -> None:
    made = run_cli("keys", "create", "--db", db_url, "--scope", "ingest", "--pair")
    assert made.exit_code == 0, made.output
    public, secret = made.stdout.split()
    assert public.startswith("pk-pr-")
    assert secret.startswith("sk-pr-")
    assert "HTTP Basic public:secret" in made.stderr
    listed = run_cli("keys", "list", "--db", db_url)
    assert public in listed.stdout
    assert secret not in listed.stdout
    as_json = run_cli("keys", "create", "--db", db_url, "--scope", "read", "--pair", "--json")
    created = json.loads(as_json.stdout)
    assert created["public_key"].startswith("pk-pr-")
    assert created["key"].startswith("sk-pr-")
