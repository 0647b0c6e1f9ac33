"""Alembic environment: runs on the connection `store.migrate` hands over.

Run through `promptrail db upgrade --db URL` (or a server start), never `alembic` with an
ini file: the URL and the connection come from promptrail.
"""

from __future__ import annotations

from alembic import context

from promptrail.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `promptrail db upgrade --db URL`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
