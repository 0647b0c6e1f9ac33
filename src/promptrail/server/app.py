"""The registry's ASGI app: `create_app(settings)` builds it, `promptrail serve` runs it.

Routers, one per family of routes, are listed in ROUTERS; adding one is one line. A
router reaches the per-process state through `registry_of(request)` (settings, store,
caches) and guards its routes with `Depends(require_scope("..."))` from `auth.py`.

GET /api/v1/prompts/{name}, the route every application polls, is answered straight from
`ResponseCache` in `RegistryApp.__call__` on a hit, before FastAPI's routing: the bytes
were serialized once, when first asked for after the last publish.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from promptrail import __version__
from promptrail.server import errors, ui
from promptrail.server.api import eval as eval_api
from promptrail.server.api import health, ingest, keys, prices, prompts, publish, quality, traces
from promptrail.server.api import langfuse as langfuse_api
from promptrail.server.api import otlp as otlp_api
from promptrail.server.cache import Entry, send_entry
from promptrail.server.settings import Settings
from promptrail.server.state import Registry
from promptrail.store import PublishPolicy, Store, migrate, redact_url
from promptrail.store.ui_rollup import Refresher

ROUTERS = [
    health.router,
    prompts.router,
    publish.router,
    keys.router,
    ingest.router,
    traces.router,
    quality.router,
    prices.router,
    langfuse_api.router,
    otlp_api.router,
    eval_api.router,
]
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class RegistryApp(FastAPI):
    """FastAPI plus a fast path for cached GETs and a body size limit."""

    registry: Registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if method == "GET":
                entry = self.registry.cache.entries.get((scope["path"], scope["query_string"]))
                if entry is not None and await self._serve_cached(entry, scope, send):
                    return
            elif method in BODY_METHODS:
                receive = self._limit_body(scope, receive)
            if b"%00" in scope["query_string"]:
                refused = errors.error_response(400, "invalid", _nul_in(scope))
                await refused(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _serve_cached(self, entry: Entry, scope: Scope, send: Send) -> bool:
        if_none_match = authorization = None
        for key, value in scope["headers"]:
            if key == b"if-none-match":
                if_none_match = value
            elif key == b"authorization":
                authorization = value
        if self.registry.settings.auth and (
            authorization is None or not self.registry.keys.can_read(authorization)
        ):
            return False  # let FastAPI check the key and answer 401/403
        await send_entry(entry, if_none_match, send)
        return True

    def _limit_body(self, scope: Scope, receive: Receive) -> Receive:
        limit = self.registry.settings.max_body_bytes
        too_large = HTTPException(
            413,
            f"the request body is larger than this server accepts ({limit} bytes); split the "
            "publish or raise the limit (PROMPTRAIL_MAX_BODY_BYTES)",
        )
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > limit:

                async def refuse() -> Message:
                    raise too_large

                return refuse
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large
            return message

        return counted


def _nul_in(scope: Scope) -> str:
    """Which query parameter holds a NUL character (no database column can store one;
    a NUL in the path is refused by the route, or by the database as unstorable)."""
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return f"query parameter {key.replace(chr(0), '%00')!r} contains a NUL character (%00)"
    return "the query string contains a NUL character (%00)"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> RegistryApp:
    settings = (settings or Settings.from_env()).check()
    store = store or Store.open(settings.db_url)
    registry = Registry(
        settings, store, PublishPolicy(settings.protected_labels, settings.preview_prefix)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry.schema_revision = await run_in_threadpool(
            migrate.ensure_current,
            store.engine,
            migrate=settings.migrate,
            url=redact_url(settings.db_url),
        )
        registry.advance(await run_in_threadpool(store.revision))
        stopping = asyncio.Event()
        poller = asyncio.create_task(registry.poll(stopping))
        app.state.rollups = Refresher(store)  # the UI's daily totals, kept off the requests
        try:
            yield
        finally:
            # Let a revision read in flight finish (cancelling would abandon its thread):
            # closing the pool under it orphans its connection until a later GC.
            stopping.set()
            with suppress(TimeoutError):
                await asyncio.wait_for(poller, timeout=5)
            app.state.rollups.stop()
            store.close()

    app = RegistryApp(
        title="promptrail registry",
        version=__version__,
        description=(
            "Prompts published from git: get one by label or version, list them, see their "
            "history, read the registry state and publish. Every error is an ApiError."
        ),
        lifespan=lifespan,
    )
    app.registry = registry
    app.state.registry = registry
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    ui.install(app)  # pages, /static and HTML error pages (JSON stays under /api/)
    return app


def app_from_env() -> RegistryApp:
    """The factory uvicorn workers call (`--workers N`): settings come from PROMPTRAIL_*."""
    return create_app(Settings.from_env())
