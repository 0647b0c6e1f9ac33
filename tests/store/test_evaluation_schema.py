"""Migration 0004 builds exactly the tables `store/evaluation.py` declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from promptrail.store import Store, migrate
from promptrail.store.evaluation import EVAL_TABLES
from promptrail.store.tables import metadata

from .test_tracing_schema import _table

OURS = {table.name for table in EVAL_TABLES}


def test_the_migration_matches_the_declared_tables(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        migrate.upgrade(store.engine)
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(context, metadata) if _table(d) in OURS]
            tables = set(context.bind.dialect.get_table_names(conn))  # type: ignore[union-attr]
    finally:
        store.close()
    assert tables >= OURS
    assert diffs == []
