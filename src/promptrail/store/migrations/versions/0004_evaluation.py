"""Evaluation: dataset versions, runs and their item results (see `store/evaluation.py`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(200)
HASH = sa.String(64)
RUN_ID = sa.String(64)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("commit", sa.String(64)),
        sa.Column(
            "publish_id",
            sa.Integer,
            sa.ForeignKey("publishes.id", name="fk_dataset_versions_publish_id_publishes"),
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_versions"),
        sa.UniqueConstraint("name", "version", name="uq_dataset_versions_name"),
        sa.UniqueConstraint("name", "hash", name="uq_dataset_versions_name_hash"),
    )
    op.create_table(
        "eval_runs",
        sa.Column("id", RUN_ID, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("prompt_name", NAME, nullable=False),
        sa.Column("prompt_version", sa.Integer),
        sa.Column("prompt_hash", HASH),
        sa.Column("dataset_name", NAME, nullable=False),
        sa.Column("dataset_hash", HASH, nullable=False),
        sa.Column("dataset_version", sa.Integer),
        sa.Column("commit", sa.String(64)),
        sa.Column("model", sa.String(200)),
        sa.Column("gate_passed", sa.Boolean, nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("aggregates", sa.JSON, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("key_id", sa.Integer),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_runs"),
    )
    op.create_index(
        "ix_eval_runs_prompt_name_created_at", "eval_runs", ["prompt_name", "created_at"]
    )
    op.create_index(
        "ix_eval_runs_dataset_name_created_at", "eval_runs", ["dataset_name", "created_at"]
    )
    op.create_table(
        "eval_results",
        sa.Column("run_id", RUN_ID, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("sample", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("latency_ms", sa.Float),
        sa.Column("cost", sa.Float),
        sa.Column("trace_id", sa.String(64)),
        sa.Column("result", sa.JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["eval_runs.id"], name="fk_eval_results_run_id_eval_runs"
        ),
        sa.PrimaryKeyConstraint("run_id", "position", name="pk_eval_results"),
    )
    op.create_index("ix_eval_results_trace_id", "eval_results", ["trace_id"])


def downgrade() -> None:
    op.drop_index("ix_eval_results_trace_id", table_name="eval_results")
    op.drop_table("eval_results")
    op.drop_index("ix_eval_runs_dataset_name_created_at", table_name="eval_runs")
    op.drop_index("ix_eval_runs_prompt_name_created_at", table_name="eval_runs")
    op.drop_table("eval_runs")
    op.drop_table("dataset_versions")
