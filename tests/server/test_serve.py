"""`promptrail serve` and `db`: refusals, schema upgrades, several processes on one database."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import fresh_postgres_database, run_cli
from kit import publish_text, request, text_version
from promptrail.api.client import RegistryClient
from promptrail.store import Store, migrate
from serverproc import ServerProcess
from waiting import wait_until


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_no_auth_is_refused_off_loopback(tmp_path: Path, host: str) -> None:
    result = run_cli("serve", "--no-auth", "--host", host, "--db", f"sqlite:///{tmp_path}/r.db")
    assert result.exit_code == 2
    assert f"--no-auth is refused on {host}" in result.stderr
    assert "promptrail keys create" in result.stderr
    assert not (tmp_path / "r.db").exists()


def test_no_migrate_refuses_an_old_schema_and_names_the_command(db_url: str) -> None:
    result = run_cli("serve", "--no-auth", "--no-migrate", "--db", db_url)
    assert result.exit_code == 2
    assert "has no promptrail schema yet" in result.stderr
    assert f"promptrail db upgrade --db {db_url}" in result.stderr


def test_db_upgrade_and_current(db_url: str) -> None:
    head = migrate.head()
    assert "schema (empty)" in run_cli("db", "current", "--db", db_url).stdout
    first = run_cli("db", "upgrade", "--db", db_url)
    assert first.exit_code == 0, first.output
    assert f"upgraded from an empty database to {head}" in first.stdout
    assert "already at schema" in run_cli("db", "upgrade", "--db", db_url).stdout
    assert "up to date" in run_cli("db", "current", "--db", db_url).stdout


def test_a_server_started_on_an_older_schema_upgrades_it(db_url: str, tmp_path: Path) -> None:
    store = Store.open(db_url)
    migrate.upgrade(store.engine, "0001")  # the first release's schema, with data in it
    store.publish(
        request([text_version("kept", 1, "from 0001")], [("kept", "production", 1, None)])
    )
    store.close()
    log = tmp_path / "server.log"
    with ServerProcess(db_url, log_path=log) as server, RegistryClient(server.url) as client:
        assert client.health()["schema_revision"] == migrate.head()
        assert client.get("kept").prompt == "from 0001"
    assert "(schema " + migrate.head() in log.read_text()


def test_migrations_build_exactly_the_registry_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from promptrail.store import tables

    ours = {t.name for t in tables.metadata.sorted_tables if t.name in _REGISTRY_TABLES}
    assert ours == _REGISTRY_TABLES
    store = Store.open(db_url)
    migrate.upgrade(store.engine)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, tables.metadata) if _touches(d, ours)]
    store.close()
    assert diffs == []


_REGISTRY_TABLES = {
    "publishes",
    "prompts",
    "versions",
    "labels",
    "preview_labels",
    "label_history",
    "api_keys",
    "registry_meta",
}


def _touches(diff: object, tables: set[str]) -> bool:
    text = repr(diff)
    return any(f"'{name}'" in text for name in tables)


@pytest.mark.postgres
def test_a_publish_through_one_server_is_served_by_another_within_a_second(
    tmp_path: Path,
) -> None:
    with (
        fresh_postgres_database() as url,
        ServerProcess(url) as one,
        ServerProcess(url) as two,
        RegistryClient(one.url) as a,
        RegistryClient(two.url) as b,
    ):
        publish_text(a, "shared", 1, "first", {"production": None})
        wait_until(lambda: b.get("shared").prompt, lambda p: p == "first", within=1.0)
        for _ in range(3):
            b.get("shared")  # cached in the second process now
        publish_text(a, "shared", 2, "second", {"production": None})
        wait_until(lambda: b.get("shared").prompt, lambda p: p == "second", within=1.0)


def test_workers_share_one_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with (
        ServerProcess(url, extra_args=["--workers", "2"]) as server,
        RegistryClient(server.url) as client,
    ):
        for version in (1, 2):
            publish_text(client, "multi", version, f"v{version}", {"production": None})
            # New connections are spread over both workers; each must serve the new version.
            wait_until(
                lambda: [_fresh_get(server.url) for _ in range(8)],
                lambda served, v=version: served == [v] * 8,
                within=1.0,
                what=f"every worker serving version {version}",
            )


def _fresh_get(url: str) -> int:
    with httpx.Client(base_url=url) as http:
        return int(http.get("/api/v1/prompts/multi").json()["version"])
