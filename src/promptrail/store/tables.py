"""The registry's tables, on one `metadata` that every part of the store shares.

Versions are immutable: a row of `versions` is written once and never updated. Labels
point at versions; every move appends to `label_history`.

Previews (pull request previews) live in `preview_labels`, apart from the version line. A
pull request publishes its changed prompts under a throwaway label such as `pr-123`
before any final version number exists, and may push other content under the same
number an hour later; writing that into `versions` would either break immutability or
let a PR claim a number that main's publish decides. So a preview row is keyed by
(name, label) and holds its own copy of the content, version number and hash: replaced
on each preview publish, deleted when the label is removed. A GET by that label reads
it and answers in the same shape as any version.

`registry_meta` holds the registry revision, bumped in every transaction that changes
what a GET or a key check could see (publish, key create/revoke): each server process
polls it and drops its caches when it moves.

The tracer adds its tables in `store/tracing.py` on the same `metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

NAME = String(200)
LABEL = String(63)
HASH = String(64)
Timestamp = DateTime(timezone=True)

publishes = Table(
    "publishes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commit", String(64)),
    Column("ref", Text),
    Column("author", Text),
    Column("message", Text),
    Column("ci_run_url", Text),
    Column("repository_url", Text),
    Column("key_id", Integer),  # the API key that made it (None without auth)
    Column("preview", Boolean, nullable=False, default=False),
    Column("versions_created", Integer, nullable=False, default=0),
    Column("labels_moved", Integer, nullable=False, default=0),
    Column("created_at", Timestamp, nullable=False),
)

prompts = Table(
    "prompts",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("tags", JSON, nullable=False),
    Column("description", Text),
    Column("path", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, ForeignKey("prompts.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(8), nullable=False),
    Column("prompt", Text),
    Column("messages", JSON),
    Column("config", JSON, nullable=False),
    Column("hash", HASH, nullable=False),
    Column("commit", String(64)),
    Column("author", Text),
    Column("message", Text),
    Column("committed_at", String(40)),
    Column("ci_run_url", Text),
    Column("publish_id", Integer, ForeignKey("publishes.id")),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("name", "version"),
)

labels = Table(
    "labels",
    metadata,
    Column("name", NAME, ForeignKey("prompts.name"), primary_key=True),
    Column("label", LABEL, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

preview_labels = Table(
    "preview_labels",
    metadata,
    Column("name", NAME, primary_key=True),  # no FK: a PR may preview a brand-new prompt
    Column("label", LABEL, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("type", String(8), nullable=False),
    Column("prompt", Text),
    Column("messages", JSON),
    Column("config", JSON, nullable=False),
    Column("hash", HASH, nullable=False),
    Column("commit", String(64)),
    Column("author", Text),
    Column("message", Text),
    Column("ci_run_url", Text),
    Column("publish_id", Integer, ForeignKey("publishes.id")),
    Column("updated_at", Timestamp, nullable=False),
)

label_history = Table(
    "label_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False),
    Column("label", LABEL, nullable=False),
    Column("from_version", Integer),
    Column("to_version", Integer),
    Column("publish_id", Integer, ForeignKey("publishes.id")),
    Column("commit", String(64)),
    Column("preview", Boolean, nullable=False, default=False),
    Column("at", Timestamp, nullable=False),
    Index("ix_label_history_name_id", "name", "id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prefix", String(16), nullable=False),
    Column("hash", HASH, nullable=False, unique=True),  # sha256 hex of the whole key
    Column("public_key", String(64), unique=True),  # a pair's public half, in clear
    Column("scopes", JSON, nullable=False),
    Column("description", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
    Column("last_used_at", Timestamp),
)

# Web UI logins held by the server (migration 0007): logging out or revoking the key ends them.
ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("id_hash", HASH, primary_key=True),  # sha256 hex of the cookie's session id
    Column("key_id", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("ended_at", Timestamp),
    Index("ix_ui_sessions_key_id", "key_id"),
)

registry_meta = Table(
    "registry_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

REVISION_KEY = "revision"
