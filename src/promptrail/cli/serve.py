"""`promptrail serve`: run the registry (FastAPI under uvicorn) on SQLite or PostgreSQL."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from promptrail.errors import RegistryUnavailable
from promptrail.settings import DB, HOST, PORT, PRICES

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=DB.name,
        help="Database URL: sqlite:///path.db (default sqlite:///.promptrail/registry.db) "
        "or postgresql://user@host/dbname (env PROMPTRAIL_DB).",
        show_default=False,
    ),
]


def uvicorn_options() -> dict[str, Any]:
    """The fastest event loop and HTTP parser installed (uvloop, httptools), no access log."""
    options: dict[str, Any] = {"server_header": False, "access_log": False}
    try:
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    except ImportError:
        options["loop"] = "asyncio"
    try:
        import httptools  # noqa: F401

        options["http"] = "httptools"
    except ImportError:
        options["http"] = "h11"
    return options


def command(
    host: Annotated[
        str, typer.Option("--host", envvar=HOST.name, help="Address to bind.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", envvar=PORT.name, min=1, max=65535, help="Port.")
    ] = 8700,
    db: DbOption = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Server processes sharing the port.")
    ] = 1,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No API keys (refused unless --host is loopback).")
    ] = False,
    protected_label: Annotated[
        list[str] | None,
        typer.Option(
            "--protected-label",
            help="A label only `deploy` keys may move (repeatable; default production).",
        ),
    ] = None,
    preview_prefix: Annotated[
        str | None, typer.Option("--preview-prefix", help="Prefix of preview labels (pr-).")
    ] = None,
    max_body_size: Annotated[
        int | None, typer.Option("--max-body-size", help="Largest request body, in bytes.")
    ] = None,
    no_migrate: Annotated[
        bool,
        typer.Option("--no-migrate", help="Refuse an older schema instead of upgrading it."),
    ] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
    prices: Annotated[
        str | None,
        typer.Option(
            "--prices",
            envvar=PRICES.name,
            help="YAML file of model prices over the shipped table (env PROMPTRAIL_PRICES).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the registry API (GET prompts, state, publish, keys) on HOST:PORT."""
    import uvicorn
    from sqlalchemy.exc import OperationalError

    from promptrail.server.settings import Settings
    from promptrail.store import Store, migrate, redact_url

    settings = Settings.from_env(
        db_url=db,
        host=host,
        auth=False if no_auth else None,
        protected_labels=tuple(protected_label) if protected_label else None,
        preview_prefix=preview_prefix,
        max_body_bytes=max_body_size,
        migrate=False if no_migrate else None,
    ).check()
    shown_db = redact_url(settings.db_url)
    store = Store.open(settings.db_url)
    try:
        before = migrate.current(store.engine)
        schema = migrate.ensure_current(store.engine, migrate=settings.migrate, url=shown_db)
        keys = len(store.list_keys()) if settings.auth else None
    except OperationalError as exc:
        raise RegistryUnavailable(f"cannot open the database {shown_db}: {exc.orig}") from None
    finally:
        store.close()
    if prices:  # the tracer's price table: refuse a broken file now, naming its line
        from promptrail.store.pricing import file_prices

        file_prices(prices)
        os.environ[PRICES.name] = os.path.abspath(prices)
    _banner(settings, port, workers, shown_db, before, schema, keys)
    options = uvicorn_options()
    options["access_log"] = access_log
    if workers == 1:
        from promptrail.server import create_app

        app: Any = create_app(settings)
    else:
        os.environ.update(settings.to_env())
        app = "promptrail.server.app:app_from_env"
        options.update(factory=True, workers=workers)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=10,
        lifespan="on",
        **options,
    )


def _banner(
    settings: Any,
    port: int,
    workers: int,
    db: str,
    before: str | None,
    schema: str,
    keys: int | None,
) -> None:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    plural = "es" if workers > 1 else ""
    print(f"promptrail registry on http://{host}:{port} ({workers} process{plural})")
    upgraded = f", upgraded from {before or 'an empty database'}" if before != schema else ""
    print(f"  database: {db} (schema {schema}{upgraded})")
    if settings.auth:
        protected = ", ".join(settings.protected_labels) or "none"
        print(
            "  auth: on: reads need a `read` key, publishes `publish`, "
            f"protected labels ({protected}) `deploy`"
        )
        if not keys:
            print(f"  no API keys yet: `promptrail keys create --db {db} --scope admin`")
    else:
        print(f"  auth: OFF (--no-auth): anyone who can reach {settings.host} may publish")
    print(f"  API docs: http://{host}:{port}/docs", flush=True)
