"""The registry: prompts, immutable versions, labels and their history, previews, keys.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(200)
LABEL = sa.String(63)
HASH = sa.String(64)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "publishes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("commit", sa.String(64)),
        sa.Column("ref", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("ci_run_url", sa.Text),
        sa.Column("repository_url", sa.Text),
        sa.Column("key_id", sa.Integer),
        sa.Column("preview", sa.Boolean, nullable=False),
        sa.Column("versions_created", sa.Integer, nullable=False),
        sa.Column("labels_moved", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "prompts",
        sa.Column("name", NAME, primary_key=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("path", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", NAME, sa.ForeignKey("prompts.name"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("prompt", sa.Text),
        sa.Column("messages", sa.JSON),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.Column("commit", sa.String(64)),
        sa.Column("author", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("committed_at", sa.String(40)),
        sa.Column("ci_run_url", sa.Text),
        sa.Column("publish_id", sa.Integer, sa.ForeignKey("publishes.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_table(
        "labels",
        sa.Column("name", NAME, sa.ForeignKey("prompts.name"), primary_key=True),
        sa.Column("label", LABEL, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "preview_labels",
        sa.Column("name", NAME, primary_key=True),
        sa.Column("label", LABEL, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("prompt", sa.Text),
        sa.Column("messages", sa.JSON),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.Column("commit", sa.String(64)),
        sa.Column("author", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("ci_run_url", sa.Text),
        sa.Column("publish_id", sa.Integer, sa.ForeignKey("publishes.id")),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "label_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("label", LABEL, nullable=False),
        sa.Column("from_version", sa.Integer),
        sa.Column("to_version", sa.Integer),
        sa.Column("publish_id", sa.Integer, sa.ForeignKey("publishes.id")),
        sa.Column("commit", sa.String(64)),
        sa.Column("preview", sa.Boolean, nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_label_history_name_id", "label_history", ["name", "id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("hash", HASH, nullable=False, unique=True),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("last_used_at", TS),
    )
    meta = op.create_table(
        "registry_meta",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(meta, [{"key": "revision", "value": 1}])


def downgrade() -> None:
    for table in (
        "registry_meta",
        "api_keys",
        "label_history",
        "preview_labels",
        "labels",
        "versions",
        "prompts",
        "publishes",
    ):
        op.drop_table(table)
