"""The ingest writer, not triggers, marks the stored days an observation write changes.

Migration 0003's triggers on `observations` noted in `ui_dirty_days` the days before
today that a write touched. On SQLite any trigger on a table sends every upsert into it
down a slower path: they made an ingested observation about 40% dearer to store, even
though their bodies ran only for late rows. The writer now does the same marking once per
batch (`ui_sums.mark_observation_days`). The triggers on `traces` and `scores` stay (one
row per trace or score, not per observation); on PostgreSQL `ui_mark_days()` keeps its
observations branch for the downgrade.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    on = " ON observations" if _postgres() else ""
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS ui_mark_observations_{event}{on}")


def downgrade() -> None:
    ui_0003 = _migration("0003_ui_indexes.py")
    if _postgres():
        ui_0003._postgres_row_triggers(["observations"])
    else:
        ui_0003._sqlite_triggers(["observations"])


def _migration(filename: str) -> Any:
    """An earlier migration's module (its file name is not an importable name)."""
    spec = importlib.util.spec_from_file_location(filename, Path(__file__).with_name(filename))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
