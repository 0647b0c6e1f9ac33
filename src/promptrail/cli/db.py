"""`promptrail db upgrade|current`: the registry database's schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from promptrail.cli.serve import DbOption
from promptrail.errors import RegistryUnavailable

app = typer.Typer(help="The registry database's schema (Alembic migrations).", no_args_is_help=True)
T = TypeVar("T")


def _url(db: str | None) -> str:
    from promptrail.store import DEFAULT_DB_URL

    return db or DEFAULT_DB_URL


def _on_engine(url: str, action: Callable[[Any], T]) -> T:
    """`action(engine)` on the database; one that cannot be opened is RegistryUnavailable."""
    from sqlalchemy.exc import OperationalError

    from promptrail.store import Store, redact_url

    store = Store.open(url)
    try:
        return action(store.engine)
    except OperationalError as exc:
        raise RegistryUnavailable(
            f"cannot open the database {redact_url(url)}: {exc.orig}"
        ) from None
    finally:
        store.close()


@app.command("upgrade")
def upgrade(
    db: DbOption = None,
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: the newest).")
    ] = "head",
) -> None:
    """Upgrade the schema (an empty database gets the whole schema)."""
    from promptrail.store import migrate, redact_url

    url = _url(db)
    before, after = _on_engine(url, lambda engine: migrate.upgrade(engine, revision))
    if before == after:
        print(f"{redact_url(url)}: already at schema {after}")
    else:
        print(f"{redact_url(url)}: upgraded from {before or 'an empty database'} to {after}")


@app.command("current")
def current(db: DbOption = None) -> None:
    """Print the schema revision of the database and the newest this promptrail knows."""
    from promptrail.store import migrate, redact_url

    url = _url(db)
    found = _on_engine(url, migrate.current)
    head = migrate.head()
    state = (
        "up to date" if found == head else f"needs `promptrail db upgrade --db {redact_url(url)}`"
    )
    print(f"{redact_url(url)}: schema {found or '(empty)'}; newest {head}: {state}")
    if found != head:
        raise typer.Exit(1)  # a check that found something to fix, like `plan --check`
