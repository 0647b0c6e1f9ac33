"""`promptrail db upgrade|current`: the registry database's schema."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import RegistryUnavailable
from .serve import DbOption

app = typer.Typer(help="The registry database's schema (Alembic migrations).", no_args_is_help=True)


def _url(db: str | None) -> str:
    from ..store import DEFAULT_DB_URL

    return db or DEFAULT_DB_URL


@app.command("upgrade")
def upgrade(
    db: DbOption = None,
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: the newest).")
    ] = "head",
) -> None:
    """Upgrade the schema (an empty database gets the whole schema)."""
    from sqlalchemy.exc import OperationalError

    from ..store import Store, migrate, redact_url

    url = _url(db)
    store = Store.open(url)
    try:
        before, after = migrate.upgrade(store.engine, revision)
    except OperationalError as exc:
        raise RegistryUnavailable(
            f"cannot open the database {redact_url(url)}: {exc.orig}"
        ) from None
    finally:
        store.close()
    if before == after:
        print(f"{redact_url(url)}: already at schema {after}")
    else:
        print(f"{redact_url(url)}: upgraded from {before or 'an empty database'} to {after}")


@app.command("current")
def current(db: DbOption = None) -> None:
    """Print the schema revision of the database and the newest this promptrail knows."""
    from sqlalchemy.exc import OperationalError

    from ..store import Store, migrate, redact_url

    url = _url(db)
    store = Store.open(url)
    try:
        found = migrate.current(store.engine)
    except OperationalError as exc:
        raise RegistryUnavailable(
            f"cannot open the database {redact_url(url)}: {exc.orig}"
        ) from None
    finally:
        store.close()
    head = migrate.head()
    state = (
        "up to date" if found == head else f"needs `promptrail db upgrade --db {redact_url(url)}`"
    )
    print(f"{redact_url(url)}: schema {found or '(empty)'}; newest {head}: {state}")
