"""API keys: created with scopes, stored as a sha256 hash, revoked but never deleted.

A key reads `prk_` + 32 random URL-safe characters. Only its hash and its first twelve
characters (to recognise it in `keys list`) are kept; the secret is shown once.

A key pair (`create(..., pair=True)`) is the form OTLP exporters and Langfuse's SDK send as
HTTP Basic: a public key `pk-pr-…` kept in clear, and a secret `sk-pr-…` stored like any
key (its hash), so the secret alone also works as a Bearer token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from promptrail.api.registry import KeyCreated, KeyInfo
from promptrail.errors import NotFound, UsageError
from promptrail.store.registry import iso, now
from promptrail.store.tables import api_keys, ui_sessions

SCOPES = ("read", "publish", "deploy", "ingest", "admin")
KEY_PREFIX = "prk_"
PUBLIC_PREFIX = "pk-pr-"
SECRET_PREFIX = "sk-pr-"
SHOWN = 12  # characters of the key kept in clear, to recognise it
TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is updated at most this often


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise UsageError(
            f"unknown scope{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(SCOPES)}"
            if unknown
            else f"a key needs at least one scope ({', '.join(SCOPES)})"
        )
    return sorted(set(scopes), key=SCOPES.index)


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        prefix=row.prefix,
        scopes=list(row.scopes),
        description=row.description,
        created_at=iso(row.created_at) or "",
        revoked_at=iso(row.revoked_at),
        last_used_at=iso(row.last_used_at),
        public_key=row.public_key,
    )


def create(
    conn: Connection, scopes: list[str], description: str | None, pair: bool = False
) -> KeyCreated:
    scopes = check_scopes(scopes)
    token = (SECRET_PREFIX if pair else KEY_PREFIX) + secrets.token_urlsafe(24)
    row = conn.execute(
        insert(api_keys).returning(*api_keys.c),
        {
            "prefix": token[:SHOWN],
            "hash": hash_key(token),
            "public_key": PUBLIC_PREFIX + secrets.token_urlsafe(12) if pair else None,
            "scopes": scopes,
            "description": description,
            "created_at": now(),
        },
    ).one()
    return KeyCreated(**_info(row).model_dump(), key=token)


def list_all(conn: Connection) -> list[KeyInfo]:
    return [_info(row) for row in conn.execute(select(api_keys).order_by(api_keys.c.id))]


def revoke(conn: Connection, key_id: int) -> KeyInfo:
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"no API key with id {key_id} (see `promptrail keys list`)")
    if row.revoked_at is None:
        conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now()))
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    # Its web UI sessions end too: a page open with it is logged out at the next click.
    sessions = ui_sessions.c
    conn.execute(
        update(ui_sessions)
        .where(sessions.key_id == key_id, sessions.ended_at.is_(None))
        .values(ended_at=now())
    )
    return _info(row)


def find(
    conn: Connection, token: str, public_key: str | None = None
) -> tuple[KeyInfo | None, bool]:
    """The key with this secret, revoked or not (None: no such key, or `public_key` given
    and not this key's), and whether its `last_used_at` is due an update."""
    row = conn.execute(select(api_keys).where(api_keys.c.hash == hash_key(token))).first()
    if row is None or (public_key is not None and row.public_key != public_key):
        return None, False
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    due = row.revoked_at is None and (last is None or now() - last > TOUCH_EVERY)
    return _info(row), due


def touch(conn: Connection, key_id: int) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now()))
