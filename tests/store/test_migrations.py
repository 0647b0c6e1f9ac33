"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL.

Every module of `promptrail.store` is imported, so each table, column, index and
constraint declared on the shared `metadata` is in the comparison, wherever it is
declared; alembic's autogenerate compares that with the migrated database. A new
migration that forgets an index, or a table added to the code without a migration, fails
here with the difference spelled out.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import re
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import promptrail.store
from promptrail.store import Store, migrate
from promptrail.store.tables import metadata


def declared_metadata() -> Any:
    """The shared metadata with every store module imported (each adds its tables)."""
    for module in pkgutil.walk_packages(promptrail.store.__path__, "promptrail.store."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    return metadata


def schema_differences(db_url: str) -> list[Any]:
    store = Store.open(db_url)
    try:
        migrate.upgrade(store.engine)
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, declared_metadata()))
    finally:
        store.close()


def test_the_migrations_build_exactly_the_declared_schema(db_url: str) -> None:
    differences = schema_differences(db_url)
    assert differences == [], "the migrated database and store/ disagree:\n" + "\n".join(
        map(repr, differences)
    )


def test_every_declared_table_is_compared() -> None:
    # The comparison above means something only if it sees the tables: guard the import walk.
    names = set(declared_metadata().tables)
    assert {"versions", "labels", "traces", "observations", "api_keys"} <= names


def test_the_migrations_form_one_line_numbered_like_their_files() -> None:
    scripts = ScriptDirectory.from_config(migrate._config())
    assert len(scripts.get_heads()) == 1, f"several heads: {scripts.get_heads()}"
    chain = list(reversed(list(scripts.walk_revisions())))
    assert chain[0].down_revision is None
    for before, after in itertools.pairwise(chain):
        assert after.down_revision == before.revision
    for script in chain:
        number = re.match(r"\d+", Path(script.path).name)
        assert number is not None, script.path
        assert number.group() == script.revision, script.path
