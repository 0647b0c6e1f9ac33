"""The registry's storage: SQLAlchemy Core on SQLite or PostgreSQL, chosen by URL scheme.

    store = Store.open("sqlite:///.promptrail/registry.db")   # or postgresql://user@host/db
    store.get("support/triage", label="production")

Reads run in short transactions; every write runs in `store.write()`, which serializes
writers (SQLite `BEGIN IMMEDIATE`; PostgreSQL `SELECT ... FOR UPDATE` on the revision
row) and bumps the registry revision that server processes poll to drop their caches.
Queries live in `registry.py` (prompts), `publish.py` (applying a publish), `keys.py`,
`runs.py` (evaluation) and `version_compare.py` (two versions' live traffic side by side).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from promptrail.api.eval import (
    DatasetList,
    DatasetVersion,
    DatasetVersionList,
    RunComparison,
    RunCreated,
    RunList,
    RunResult,
)
from promptrail.api.quality import SAMPLE_LIMIT, VersionComparison
from promptrail.api.registry import (
    KeyCreated,
    KeyInfo,
    LabelHistory,
    PromptList,
    PublishRequest,
    PublishResult,
    RegistryState,
    VersionList,
)
from promptrail.errors import InvalidRequest, NotFound, SchemaError, StoreConflict, UsageError
from promptrail.store import keys as _keys
from promptrail.store import publish as _publish
from promptrail.store import registry as _registry
from promptrail.store import runs as _runs
from promptrail.store import version_compare as _version_compare
from promptrail.store.registry import bump_revision
from promptrail.store.tables import REVISION_KEY, registry_meta

__all__ = [
    "DEFAULT_DB_URL",
    "InvalidRequest",
    "NotFound",
    "PublishPolicy",
    "SchemaError",
    "Store",
    "StoreConflict",
    "bump_revision",
    "open_engine",
    "redact_url",
]

DEFAULT_DB_URL = "sqlite:///.promptrail/registry.db"
PublishPolicy = _publish.PublishPolicy


def open_engine(url: str) -> Engine:
    """An engine for `sqlite:///path` (WAL, busy timeout, foreign keys) or `postgresql://`."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"cannot parse database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed.database)
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        # hide_parameters: error messages (and so logs) never show the values a statement
        # carried, such as key hashes or the texts of a publish.
        return create_engine(
            parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
    raise UsageError(
        f"unsupported database URL {redact_url(url)!r}: use sqlite:///path/to/registry.db "
        "or postgresql://user@host/dbname"
    )


def _sqlite_engine(database: str | None) -> Engine:
    if database in (None, "", ":memory:"):
        engine = create_engine(
            "sqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            hide_parameters=True,
        )
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            f"sqlite:///{database}",
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=10,
            max_overflow=30,
            hide_parameters=True,
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below) so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged publish survives power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("promptrail_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class Store:
    """The registry's queries over one engine; safe to share between threads."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.backend = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"

    @classmethod
    def open(cls, url: str) -> Store:
        return cls(open_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction that sees one snapshot: a page's several queries agree with
        each other even while writers commit (PostgreSQL's default, READ COMMITTED, gives
        each statement a newer snapshot; SQLite's WAL read transaction already holds one)."""
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def write(self, *, bump: bool = True) -> Iterator[Connection]:
        """One serialized write transaction; with `bump`, moves the revision as it commits.

        Writers queue on one lock (the revision row), so a publish reads the state it
        checks its preconditions against with no other writer in between.
        """
        with self.engine.connect() as conn:
            conn = conn.execution_options(promptrail_write=True)
            with conn.begin():
                lock = select(registry_meta.c.value).where(registry_meta.c.key == REVISION_KEY)
                if self.backend == "postgresql":
                    lock = lock.with_for_update()
                if conn.execute(lock).first() is None:
                    raise SchemaError(
                        "the database has no promptrail schema: run `promptrail db upgrade`"
                    )
                yield conn
                if bump:
                    bump_revision(conn)

    def revision(self) -> int:
        with self.read() as conn:
            return _registry.revision(conn)

    # -- prompts ---------------------------------------------------------------------------

    def get(
        self, name: str, *, label: str | None = None, version: int | None = None
    ) -> dict[str, Any]:
        """The published body for a label (default `production`) or a version number."""
        with self.read() as conn:
            return _registry.get(conn, name, label=label, version=version)

    def list_prompts(self) -> PromptList:
        with self.read() as conn:
            return _registry.list_prompts(conn)

    def versions(self, name: str) -> VersionList:
        with self.read() as conn:
            return _registry.versions(conn, name)

    def label_history(self, name: str, label: str | None = None) -> LabelHistory:
        with self.read() as conn:
            return _registry.label_history(conn, name, label)

    def state(self, names: list[str] | None = None, **policy: Any) -> RegistryState:
        with self.read() as conn:
            return _registry.state(conn, names, **policy)

    def publish(
        self,
        request: PublishRequest,
        policy: PublishPolicy | None = None,
        *,
        key_id: int | None = None,
        checked: _publish.Checked | None = None,
    ) -> PublishResult:
        """Apply a publish whole, or raise InvalidRequest (400) / StoreConflict (409)."""
        return _publish.apply(
            self, request, policy or PublishPolicy(), key_id=key_id, checked=checked
        )

    # -- evaluation: datasets and runs ------------------------------------------------------

    def list_datasets(self) -> DatasetList:
        with self.read() as conn:
            return _runs.list_datasets(conn)

    def dataset_history(self, name: str) -> DatasetVersionList:
        with self.read() as conn:
            return _runs.dataset_history(conn, name)

    def get_dataset(
        self, name: str, *, version: int | None = None, hash: str | None = None
    ) -> DatasetVersion:
        with self.read() as conn:
            return _runs.get_dataset(conn, name, version=version, hash=hash)

    def create_run(self, run: RunResult, key_id: int | None = None) -> RunCreated:
        # Runs are not what a GET of a prompt or a key check sees: no revision bump.
        with self.write(bump=False) as conn:
            return _runs.create_run(conn, run, key_id)

    def get_run(self, run_id: str) -> RunResult:
        with self.read() as conn:
            return _runs.get_run(conn, run_id)

    def list_runs(self, **filters: Any) -> RunList:
        with self.read() as conn:
            return _runs.list_runs(conn, **filters)

    def compare_runs(self, base: str, head: str) -> RunComparison:
        with self.read() as conn:
            return _runs.compare_runs(conn, base, head)

    # -- live traffic ------------------------------------------------------------------------

    def compare_versions(
        self,
        name: str,
        *,
        start: datetime,
        end: datetime,
        base: int | None = None,
        head: int | None = None,
        limit: int = SAMPLE_LIMIT,
    ) -> VersionComparison:
        """Two versions' scores (newest `limit` per name), calls, latency and cost over
        [start, end); base defaults to `production`, head to the newest other version
        with traffic. NotFound (404) / InvalidRequest (400, says what to give)."""
        with self.read() as conn:
            return _version_compare.compare(conn, name, base, head, start, end, limit)

    # -- keys ------------------------------------------------------------------------------

    def create_key(
        self, scopes: list[str], description: str | None = None, pair: bool = False
    ) -> KeyCreated:
        with self.write() as conn:
            return _keys.create(conn, scopes, description, pair)

    def list_keys(self) -> list[KeyInfo]:
        with self.read() as conn:
            return _keys.list_all(conn)

    def revoke_key(self, key_id: int) -> KeyInfo:
        with self.write() as conn:
            return _keys.revoke(conn, key_id)

    def authenticate(self, token: str, public_key: str | None = None) -> KeyInfo | None:
        """The key with this secret (and this public key, when given), revoked or not
        (None: no such key); marks it used."""
        with self.read() as conn:
            info, due = _keys.find(conn, token, public_key)
        if info is not None and due:
            with (
                self.engine.connect() as conn,
                conn.execution_options(promptrail_write=True).begin(),
            ):
                _keys.touch(conn, info.id)
        return info
