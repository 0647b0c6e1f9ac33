"""Migration 0002 builds exactly the tables `store/tracing.py` declares, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from promptrail.store import Store, migrate
from promptrail.store.tables import metadata
from promptrail.store.tracing import TRACING_TABLES

OURS = {table.name for table in TRACING_TABLES}
OTHERS_INDEXES = ("ix_observations_level_trace_id",)  # added by the web UI's migration


def test_the_migration_matches_the_declared_tables(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        migrate.upgrade(store.engine)
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [
                d
                for d in compare_metadata(context, metadata)
                if _table(d) in OURS and not any(i in repr(d) for i in OTHERS_INDEXES)
            ]
    finally:
        store.close()
    assert diffs == []


def _table(diff: Any) -> str | None:
    """The table a diff of alembic's compare_metadata is about."""
    if isinstance(diff, list):  # column changes come as a list of tuples
        diff = diff[0]
    target = diff[1]
    if hasattr(target, "name") and hasattr(target, "columns") and not hasattr(target, "table"):
        return str(target.name)  # a table
    if hasattr(target, "table"):
        return str(target.table.name)  # an index or constraint
    return str(diff[2])  # ("modify_type", schema, table, column, ...)
