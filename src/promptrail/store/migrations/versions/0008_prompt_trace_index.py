"""An index that answers "the traces that used prompt P (version V)" on its own.

The trace list's prompt-version filter and the metrics by prompt read
`observations (prompt_name, prompt_version) -> trace_id`; with the trace id in the
index, that is a range scan of the index alone, without a visit to each matching row.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_observations_prompt_trace_id",
        "observations",
        ["prompt_name", "prompt_version", "trace_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_observations_prompt_trace_id", table_name="observations")
