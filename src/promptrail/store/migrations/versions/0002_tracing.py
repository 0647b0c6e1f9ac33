"""Tracing: traces and their tags, observations, scores, model prices.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
NAME = sa.String(200)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", NAME),
        sa.Column("user_id", NAME),
        sa.Column("session_id", NAME),
        sa.Column("release", NAME),
        sa.Column("environment", NAME),
        sa.Column("tags", sa.JSON),
        sa.Column("metadata", sa.Text),
        sa.Column("input", sa.Text),
        sa.Column("output", sa.Text),
        sa.Column("public", sa.Boolean),
        sa.Column("start_time", TS),
        sa.Column("end_time", TS),
        sa.Column("latency_ms", sa.Float),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_traces_start_time", "traces", ["start_time"])
    op.create_index("ix_traces_user_id_start_time", "traces", ["user_id", "start_time"])
    op.create_index("ix_traces_session_id_start_time", "traces", ["session_id", "start_time"])
    op.create_index("ix_traces_name_start_time", "traces", ["name", "start_time"])

    op.create_table(
        "trace_tags",
        sa.Column("trace_id", ID, primary_key=True),
        sa.Column("tag", NAME, primary_key=True),
    )
    op.create_index("ix_trace_tags_tag_trace_id", "trace_tags", ["tag", "trace_id"])

    op.create_table(
        "observations",
        sa.Column("id", ID, primary_key=True),
        sa.Column("trace_id", ID, nullable=False),
        sa.Column("parent_id", ID),
        sa.Column("type", sa.String(16)),
        sa.Column("name", NAME),
        sa.Column("start_time", TS),
        sa.Column("end_time", TS),
        sa.Column("completion_start_time", TS),
        sa.Column("latency_ms", sa.Float),
        sa.Column("time_to_first_token_ms", sa.Float),
        sa.Column("level", sa.String(10)),
        sa.Column("status_message", sa.Text),
        sa.Column("version", NAME),
        sa.Column("input", sa.Text),
        sa.Column("output", sa.Text),
        sa.Column("metadata", sa.Text),
        sa.Column("model", NAME),
        sa.Column("model_parameters", sa.Text),
        sa.Column("usage_input", sa.BigInteger),
        sa.Column("usage_output", sa.BigInteger),
        sa.Column("usage_total", sa.BigInteger),
        sa.Column("usage_cached", sa.BigInteger),
        sa.Column("usage_reasoning", sa.BigInteger),
        sa.Column("cost_input", sa.Float),
        sa.Column("cost_output", sa.Float),
        sa.Column("cost_total", sa.Float),
        sa.Column("cost_source", sa.String(10)),
        sa.Column("prompt_name", NAME),
        sa.Column("prompt_version", sa.Integer),
        sa.Column("prompt_label", sa.String(63)),
        sa.Column("prompt_hash", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_observations_trace_id_start_time", "observations", ["trace_id", "start_time"]
    )
    op.create_index("ix_observations_type_start_time", "observations", ["type", "start_time"])
    op.create_index(
        "ix_observations_prompt",
        "observations",
        ["prompt_name", "prompt_version", "start_time"],
    )

    op.create_table(
        "scores",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("string_value", sa.Text),
        sa.Column("data_type", sa.String(12), nullable=False),
        sa.Column("trace_id", ID),
        sa.Column("observation_id", ID),
        sa.Column("session_id", NAME),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("metadata", sa.Text),
        sa.Column("timestamp", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_scores_trace_id", "scores", ["trace_id"])
    op.create_index("ix_scores_observation_id", "scores", ["observation_id"])
    op.create_index("ix_scores_session_id", "scores", ["session_id"])
    op.create_index("ix_scores_name_timestamp", "scores", ["name", "timestamp"])

    op.create_table(
        "model_prices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", NAME, nullable=False),
        sa.Column("match_pattern", sa.Text, nullable=False),
        sa.Column("provider", sa.String(50)),
        sa.Column("input_price", sa.Float, nullable=False),
        sa.Column("output_price", sa.Float, nullable=False),
        sa.Column("cached_input_price", sa.Float),
        sa.Column("effective_from", sa.String(10), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("model", "effective_from", name="uq_model_prices_model"),
    )


def downgrade() -> None:
    for table in ("model_prices", "scores", "observations", "trace_tags", "traces"):
        op.drop_table(table)
