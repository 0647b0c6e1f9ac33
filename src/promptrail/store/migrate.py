"""Schema migrations (Alembic, scripts in `store/migrations/versions/`), run from promptrail.

`promptrail serve` upgrades an older schema when it starts (an empty database included);
with `--no-migrate` it refuses instead and names the command to run:
`promptrail db upgrade --db URL`. Upgrades hold a lock (PostgreSQL advisory lock, SQLite
write lock) so servers starting side by side on one database migrate it once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from promptrail.errors import SchemaError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_ID = 7_305_118_042  # arbitrary: promptrail's advisory lock for migrations


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def current(engine: Engine) -> str | None:
    """The schema revision of the database; None for an empty (never migrated) one."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known(revision: str) -> bool:
    return any(
        s.revision == revision for s in ScriptDirectory.from_config(_config()).walk_revisions()
    )


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Upgrade to `target`; returns (revision before, revision after)."""
    with engine.connect() as conn:
        conn = conn.execution_options(promptrail_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_ID})")
            before = MigrationContext.configure(conn).get_current_revision()
            if before is not None and not known(before):
                raise _too_new(before)
            command.upgrade(_config(conn), target)
            after = MigrationContext.configure(conn).get_current_revision()
    return before, after


def ensure_current(engine: Engine, *, migrate: bool, url: str) -> str:
    """Upgrade an older schema (or refuse, with the command, when `migrate` is off)."""
    found = current(engine)
    latest = head()
    if found == latest:
        return latest
    if found is not None and not known(found):
        raise _too_new(found)
    if not migrate:
        what = "has no promptrail schema yet" if found is None else f"is at schema {found}"
        raise SchemaError(
            f"the database {url} {what}; this promptrail needs {latest}. "
            f"Run `promptrail db upgrade --db {url}` (or start without --no-migrate)"
        )
    return upgrade(engine)[1] or latest


def _too_new(revision: str) -> SchemaError:
    return SchemaError(
        f"the database is at schema revision {revision!r}, which this promptrail does not "
        "know: it was migrated by a newer release; upgrade promptrail"
    )
