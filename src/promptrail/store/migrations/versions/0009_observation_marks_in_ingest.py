"""On SQLite the ingest writer, not triggers, marks the stored days an observation write
changes.

Migration 0003's triggers on `observations` note in `ui_dirty_days` the days before today
that a write touches. On SQLite any trigger on a table sends every upsert into it down a
slower path: they made an ingested observation about 40% dearer to store, though their
bodies ran only for late rows. There the writer now does the same marking once per batch
(`ui_sums.mark_observation_days`, about 2 us per row). On PostgreSQL the triggers stay:
a row trigger whose WHEN is false costs next to nothing there, while the writer's lookup
of the rows a batch replaces cost about 11 us per row (measured with bench/otlp.py's
batches). The triggers on `traces` and `scores` stay on both (one row per trace or score).

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
    if not _postgres():
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS ui_mark_observations_{event}")


def downgrade() -> None:
    if not _postgres():
        _migration("0003_ui_indexes.py")._sqlite_triggers(["observations"])


def _migration(filename: str) -> Any:
    """An earlier migration's module (its file name is not an importable name)."""
    spec = importlib.util.spec_from_file_location(filename, Path(__file__).with_name(filename))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
