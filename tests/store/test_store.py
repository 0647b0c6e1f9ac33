"""The store used directly (what `keys --db` and the server run on), on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection

from kit import request, text_version
from promptrail.store import NotFound, Store, StoreConflict, changes, migrate


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    migrate.upgrade(opened.engine)
    yield opened
    opened.close()


@pytest.mark.parametrize("whole_tables", [False, True])
def test_big_publishes_read_whole_tables_with_the_same_outcome(
    store: Store, monkeypatch: pytest.MonkeyPatch, whole_tables: bool
) -> None:
    if whole_tables:  # what a publish of thousands of prompts does
        monkeypatch.setattr(changes, "WHOLE_TABLES", 1)
    store.publish(request([text_version("other", 1, "o")], [("other", "production", 1, None)]))
    body = request(
        [text_version("a", 1, "a"), text_version("b", 1, "b")],
        [("a", "production", 1, None), ("b", "production", 1, None)],
        metadata={"a": {"tags": ["x"]}},
    )
    first = store.publish(body)
    assert [c["name"] for c in first.created] == ["a", "b"]
    revision = store.revision()
    again = store.publish(body)
    assert again.unchanged
    assert store.revision() == revision  # a no-op writes nothing
    with pytest.raises(StoreConflict, match="version 1 of 'b' already exists"):
        store.publish(request([text_version("a", 2, "a2"), text_version("b", 1, "B")]))
    with pytest.raises(StoreConflict, match="label 'production' of 'a' is on version 1"):
        store.publish(request([text_version("a", 2, "a2")], [("a", "production", 2, None)]))
    assert store.state(["a", "b"]).prompts["a"].versions == {1: text_version("a", 1, "a").hash}


def test_keys_are_hashed_and_revocable(store: Store) -> None:
    made = store.create_key(["publish", "read", "publish"], "ci")
    assert made.scopes == ["read", "publish"]
    assert made.key.startswith(made.prefix)
    assert store.authenticate(made.key) is not None
    assert store.authenticate(made.key + "x") is None
    revoked = store.revoke_key(made.id)
    assert revoked.revoked_at is not None
    found = store.authenticate(made.key)
    assert found is not None
    assert found.revoked_at is not None
    with store.read() as conn:
        stored = conn.exec_driver_sql("SELECT hash, prefix FROM api_keys").all()
    assert made.key not in {value for row in stored for value in row}


def test_a_preview_never_enters_the_version_line(store: Store) -> None:
    store.publish(request([text_version("p", 1, "v1")], [("p", "production", 1, None)]))
    store.publish(request([text_version("p", 2, "draft")], [("p", "pr-3", 2, None)]))
    assert store.get("p", label="pr-3")["prompt"] == "draft"
    with pytest.raises(NotFound, match="has no version 2"):
        store.get("p", version=2)
    assert store.state().prompts["p"].versions.keys() == {1}


def test_migrations_leave_the_revision_counter_at_one(db_url: str) -> None:
    store = Store.open(db_url)
    assert migrate.current(store.engine) is None
    migrate.upgrade(store.engine)
    assert store.revision() == 1
    store.close()


def test_a_read_sees_one_snapshot_while_a_publish_commits(store: Store) -> None:
    # A page reads several queries in one read; a publish landing between them must not
    # make them disagree (the dashboard showed partial totals with no "pending" note).
    def prompt_count(conn: Connection) -> int:
        return len(conn.exec_driver_sql("SELECT name FROM prompts").all())

    store.publish(request([text_version("first", 1, "one")]))
    with store.read() as conn:
        before = prompt_count(conn)
        store.publish(request([text_version("second", 1, "two")]))  # another connection
        assert prompt_count(conn) == before
    with store.read() as conn:
        assert prompt_count(conn) == before + 1
