"""`promptrail keys create|list|revoke`: API keys, in the database or through the API.

With `--db URL` (or PROMPTRAIL_DB, or an existing .promptrail/registry.db and no
registry address) the command writes to the database itself: that is how the first
admin key is made. Otherwise it calls the registry at --registry / PROMPTRAIL_URL with
an admin key (--api-key / PROMPTRAIL_API_KEY).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from promptrail.api.registry import KeyInfo
from promptrail.cli.common import ApiKeyOption, RegistryOption
from promptrail.cli.serve import DbOption
from promptrail.errors import UsageError

app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
SCOPE_HELP = "read, publish, deploy (protected labels), ingest (traces), admin (keys)."


class _Direct:
    """The database itself, migrated first (so bootstrapping works before any serve)."""

    def __init__(self, url: str):
        from promptrail.store import Store, migrate, redact_url

        self.store = Store.open(url)
        migrate.ensure_current(self.store.engine, migrate=True, url=redact_url(url))

    def create_key(
        self, scopes: list[str], description: str | None = None, pair: bool = False
    ) -> Any:
        return self.store.create_key(scopes, description, pair)

    def list_keys(self) -> list[KeyInfo]:
        return self.store.list_keys()

    def revoke_key(self, key_id: int) -> KeyInfo:
        return self.store.revoke_key(key_id)

    def close(self) -> None:
        self.store.close()


@contextmanager
def _backend(db: str | None, registry: str | None, api_key: str | None) -> Iterator[Any]:
    from sqlalchemy.exc import OperationalError

    from promptrail.api.client import RegistryClient
    from promptrail.errors import RegistryUnavailable
    from promptrail.store import DEFAULT_DB_URL, redact_url

    if db is None and registry is None and Path(".promptrail/registry.db").exists():
        db = DEFAULT_DB_URL
    if db is None and registry is None:
        raise UsageError(
            "say where the keys live: --db URL (the registry's database, e.g. to create the "
            "first admin key) or --registry URL with an admin --api-key"
        )
    try:
        backend: Any = _Direct(db) if db is not None else RegistryClient(registry, api_key)
    except OperationalError as exc:
        raise RegistryUnavailable(
            f"cannot open the database {redact_url(db or '')}: {exc.orig}"
        ) from None
    try:
        yield backend
    except OperationalError as exc:
        raise RegistryUnavailable(f"database error: {exc.orig}") from None
    finally:
        backend.close()


@app.command("create")
def create(
    scope: Annotated[list[str], typer.Option("--scope", help=SCOPE_HELP)],
    description: Annotated[
        str | None, typer.Option("--description", help="What the key is for.")
    ] = None,
    pair: Annotated[
        bool,
        typer.Option(
            "--pair",
            help="Make a public/secret pair (pk-pr-… / sk-pr-…): what OTLP exporters and "
            "Langfuse's SDK send as HTTP Basic. The secret alone also works as a Bearer key.",
        ),
    ] = False,
    output_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create a key; the secret is printed once and only its hash is kept."""
    from promptrail.store.keys import check_scopes

    scopes = check_scopes([s.strip() for part in scope for s in part.split(",") if s.strip()])
    with _backend(db, registry, api_key) as backend:
        created = backend.create_key(scopes, description, pair)
    if output_json:
        print(json.dumps(created.model_dump(), indent=2))
        return
    if created.public_key:
        # Two lines, public first, so `read -r pk sk` style scripts can take them apart.
        print(created.public_key)
    print(created.key)
    if created.public_key:
        typer.echo(
            f"key pair {created.id} ({', '.join(created.scopes)}) created: the public key, "
            "then the secret key, shown only now. OTLP exporters and Langfuse's SDK send them "
            "as HTTP Basic public:secret; the secret alone works as PROMPTRAIL_API_KEY",
            err=True,
        )
        return
    typer.echo(
        f"key {created.id} ({', '.join(created.scopes)}) created; it is shown only now: "
        "store it as a secret (e.g. PROMPTRAIL_API_KEY in CI)",
        err=True,
    )


@app.command("list")
def list_(
    output_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List keys: id, prefix, scopes, state, last use."""
    with _backend(db, registry, api_key) as backend:
        keys = backend.list_keys()
    if output_json:
        print(json.dumps([k.model_dump() for k in keys], indent=2))
        return
    if not keys:
        print("no API keys")
        return
    for key in keys:
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        used = f"last used {key.last_used_at}" if key.last_used_at else "never used"
        note = f"  {key.description}" if key.description else ""
        note = f"  public {key.public_key}{note}" if key.public_key else note
        print(f"{key.id:>4}  {key.prefix}…  {','.join(key.scopes):<24} {state}, {used}{note}")


@app.command("revoke")
def revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `promptrail keys list`).")],
    db: DbOption = None,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Revoke a key: every server refuses it within a second."""
    with _backend(db, registry, api_key) as backend:
        key = backend.revoke_key(key_id)
    print(f"key {key.id} ({key.prefix}…) revoked at {key.revoked_at}")
