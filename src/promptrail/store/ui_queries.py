"""The few reads the web UI needs that the registry and trace queries do not offer.

Everything else the UI shows comes from `registry.py`, `trace_queries.py` and
`trace_metrics.py`, the functions behind the JSON API. Added here: the type of each
prompt's latest version, where a publish came from (for commit and "edit in git" links),
a substring search on trace names, the key behind a login cookie, and the secret that
signs that cookie. Daily totals for the dashboard are in `ui_rollup.py`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Select,
    String,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from promptrail.store.keys import hash_key
from promptrail.store.registry import now
from promptrail.store.tables import (
    Timestamp,
    api_keys,
    metadata,
    prompts,
    publishes,
    ui_sessions,
    versions,
)
from promptrail.store.trace_queries import TraceFilter
from promptrail.store.tracing import traces as traces_t

ui_secrets = Table(
    "ui_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)
COOKIE_SECRET = "cookie"


# -- prompts ---------------------------------------------------------------------------------


def latest_types(conn: Connection) -> dict[str, str]:
    """name -> type (text | chat) of its highest version."""
    out: dict[str, str] = {}
    for name, type_ in conn.execute(
        select(versions.c.name, versions.c.type).order_by(versions.c.name, versions.c.version)
    ):
        out[name] = type_
    return out


@dataclass(frozen=True)
class PromptMeta:
    path: str | None
    description: str | None
    tags: list[str]
    updated_at: datetime | None


def prompt_meta(conn: Connection, name: str) -> PromptMeta | None:
    row = conn.execute(select(prompts).where(prompts.c.name == name)).first()
    if row is None:
        return None
    return PromptMeta(row.path, row.description, list(row.tags or []), row.updated_at)


@dataclass(frozen=True)
class Source:
    """Where a publish came from: enough to link a commit, a file and a CI run."""

    repository_url: str | None
    ref: str | None
    commit: str | None
    ci_run_url: str | None


def publish_sources(conn: Connection, ids: set[int]) -> dict[int, Source]:
    if not ids:
        return {}
    p = publishes.c
    rows = conn.execute(
        select(p.id, p.repository_url, p.ref, p.commit, p.ci_run_url).where(p.id.in_(ids))
    )
    return {r.id: Source(r.repository_url, r.ref, r.commit, r.ci_run_url) for r in rows}


def latest_source(conn: Connection) -> Source | None:
    """The newest publish that named its repository (main's, unless only previews did)."""
    p = publishes.c
    row = conn.execute(
        select(p.repository_url, p.ref, p.commit, p.ci_run_url)
        .where(p.repository_url.is_not(None))
        .order_by(p.preview, p.id.desc())
        .limit(1)
    ).first()
    return None if row is None else Source(row.repository_url, row.ref, row.commit, row.ci_run_url)


# -- traces ----------------------------------------------------------------------------------


@dataclass
class TraceSearch(TraceFilter):
    """The API's trace filter plus a case-insensitive substring search on the trace name."""

    search: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        query = super().apply(query)
        if self.search:
            pattern = "%" + self.search.lower().replace("\\", "\\\\").replace("%", "\\%") + "%"
            pattern = pattern.replace("_", "\\_")
            query = query.where(func.lower(traces_t.c.name).like(pattern, escape="\\"))
        return query


# -- login -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRow:
    id: int
    prefix: str
    scopes: list[str]
    revoked: bool


def key_by_id(conn: Connection, key_id: int) -> KeyRow | None:
    k = api_keys.c
    row = conn.execute(select(k.id, k.prefix, k.scopes, k.revoked_at).where(k.id == key_id)).first()
    if row is None:
        return None
    return KeyRow(row.id, row.prefix, list(row.scopes or []), row.revoked_at is not None)


def start_session(engine: Engine, key_id: int) -> str:
    """A new web UI session of `key_id`; returns its id (only the id's hash is stored)."""
    session_id = secrets.token_urlsafe(32)
    row = {"id_hash": hash_key(session_id), "key_id": key_id, "created_at": now()}
    with engine.connect() as conn, conn.execution_options(promptrail_write=True).begin():
        conn.execute(insert(ui_sessions).values(row))
    return session_id


def session_open(conn: Connection, session_id: str, key_id: int) -> bool:
    s = ui_sessions.c
    query = select(s.key_id, s.ended_at).where(s.id_hash == hash_key(session_id))
    row = conn.execute(query).first()
    return row is not None and row.key_id == key_id and row.ended_at is None


def end_session(engine: Engine, session_id: str) -> None:
    s = ui_sessions.c
    with engine.connect() as conn, conn.execution_options(promptrail_write=True).begin():
        conn.execute(
            update(ui_sessions)
            .where(s.id_hash == hash_key(session_id), s.ended_at.is_(None))
            .values(ended_at=now())
        )


def cookie_secret(engine: Engine) -> str:
    """The secret that signs login cookies, made once and shared by every server process."""
    query = select(ui_secrets.c.value).where(ui_secrets.c.name == COOKIE_SECRET)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    if found is not None:
        return str(found)
    try:
        with engine.connect() as conn, conn.execution_options(promptrail_write=True).begin():
            conn.execute(
                insert(ui_secrets).values(
                    name=COOKIE_SECRET, value=secrets.token_hex(32), created_at=now()
                )
            )
    except IntegrityError:
        pass  # another process made it first
    with engine.connect() as conn:
        return str(conn.execute(query).scalar_one())
