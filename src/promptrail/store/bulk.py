"""Bulk upserts for ingest: one statement compiled once, rows straight to the driver.

Every write is an upsert keyed by the object's id that merges the fields it carries
(`COALESCE(new, old)`). SQLite and PostgreSQL share the `ON CONFLICT` syntax; only the
`insert` construct differs. On PostgreSQL the rows go in by COPY into a temporary twin
of the table and one `INSERT ... SELECT ... ON CONFLICT`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func


def dialect_insert(conn: Connection, table: Table) -> Any:
    """INSERT for the connection's database, with its `on_conflict_*` methods."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


# Bulk writes go straight to the driver's executemany with a statement compiled once:
# SQLAlchemy's per-row parameter processing costs more than the database's work here.
_COMPILED: dict[tuple[Any, ...], tuple[str, tuple[str, ...] | None]] = {}


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite storage format (UTC, no offset), so reads parse it back."""
    if value is None:
        return None
    return value.isoformat(" ", "microseconds")[:26]  # already UTC (see _utc)


def _converters(dialect: str, table: Table, names: Iterable[str]) -> list[tuple[str, Any]]:
    out = []
    for name in names:
        kind = type(table.c[name].type).__name__
        if kind == "JSON":
            out.append((name, json_text))
        elif kind == "DateTime" and dialect == "sqlite":
            out.append((name, _sqlite_time))
    return out


def _execute_many(
    conn: Connection, key: tuple[Any, ...], build: Any, table: Table, rows: list[dict[str, Any]]
) -> None:
    dialect = conn.dialect.name
    cache_key = (dialect, *key)
    found = _COMPILED.get(cache_key)
    if found is None:
        compiled = build().compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup) if compiled.positional else None
        found = _COMPILED[cache_key] = (str(compiled), order)
    sql, order = found
    # The rows are the batch's own: converted in place, column by column.
    for name, fn in _converters(dialect, table, rows[0]):
        for row in rows:
            row[name] = fn(row[name])
    if dialect == "postgresql":
        _postgres_copy(conn, sql, table, rows)
        return
    if order:
        getter = itemgetter(*order)
        params: Any = (
            [getter(row) for row in rows] if len(order) > 1 else [(getter(row),) for row in rows]
        )
    else:
        params = rows
    conn.exec_driver_sql(sql, params)


def _postgres_copy(conn: Connection, sql: str, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY the rows into a temporary twin of the table, then one INSERT ... SELECT with
    the same ON CONFLICT clause: several times faster than psycopg's executemany."""
    quote = conn.dialect.identifier_preparer.quote
    columns = list(rows[0])
    names = ", ".join(quote(c) for c in columns)
    twin = quote(f"_ingest_{table.name}")
    tail = sql[sql.index(" ON CONFLICT ") :]
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        # Lives as long as the pooled connection; emptied at each commit.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {twin} ON COMMIT DELETE ROWS "
            f"AS TABLE {quote(table.name)} WITH NO DATA"
        )
        with cursor.copy(f"COPY {twin} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        cursor.execute(
            f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM {twin}{tail}"
        )
        cursor.execute(f"DELETE FROM {twin}")


def upsert(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    keys: tuple[str, ...] = ("id",),
    replace: Iterable[str] = (),
    keep: Iterable[str] = ("created_at",),
) -> None:
    """Insert `rows`, or merge them into the rows with the same key: a non-null value wins,
    except columns in `replace` (always overwritten) and `keep` (never touched).
    Every row has the same columns."""
    if not rows:
        return
    columns = tuple(rows[0])
    replace, keep = tuple(replace), tuple(keep)

    def build() -> Any:
        stmt = dialect_insert(conn, table).values({name: bindparam(name) for name in columns})
        skip = set(keys) | set(keep)
        set_ = {
            name: stmt.excluded[name]
            if name in replace
            else func.coalesce(stmt.excluded[name], table.c[name])
            for name in columns
            if name not in skip
        }
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)

    _execute_many(conn, ("upsert", table.name, columns, keys, replace, keep), build, table, rows)


def insert_missing(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: tuple[str, ...] = ("id",)
) -> None:
    if not rows:
        return
    columns = tuple(rows[0])

    def build() -> Any:
        stmt = dialect_insert(conn, table).values({name: bindparam(name) for name in columns})
        return stmt.on_conflict_do_nothing(index_elements=list(keys))

    _execute_many(conn, ("missing", table.name, columns, keys), build, table, rows)


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def json_text(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)
