"""OpenTelemetry: API key pairs (HTTP Basic public:secret) and unresolved prompt links.

`api_keys.public_key`: a pair's public half, beside the secret's hash; existing keys keep
working unchanged (NULL). `observations.prompt_resolved`: whether the prompt version an
OTLP span names is held by the registry (NULL: not checked, as for the SDK's own links).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a UNIQUE column in place.
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("public_key", sa.String(64)))
        batch.create_unique_constraint("uq_api_keys_public_key", ["public_key"])
    op.add_column("observations", sa.Column("prompt_resolved", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("prompt_resolved")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("uq_api_keys_public_key", type_="unique")
        batch.drop_column("public_key")
