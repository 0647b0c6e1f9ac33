"""What one server process holds (settings, store, caches), reachable from any route."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from promptrail.server.auth import KeyCache
from promptrail.server.cache import ResponseCache
from promptrail.server.ratelimit import Limiter
from promptrail.server.settings import Settings
from promptrail.store import PublishPolicy, Store

log = logging.getLogger("promptrail.server")
T = TypeVar("T")


@dataclass
class Registry:
    """Everything one server process holds: settings, store, caches."""

    settings: Settings
    store: Store
    policy: PublishPolicy
    cache: ResponseCache = field(default_factory=ResponseCache)
    keys: KeyCache = field(default_factory=KeyCache)
    schema_revision: str | None = None
    auth_failures: Limiter = field(init=False)
    ingests: Limiter = field(init=False)

    def __post_init__(self) -> None:
        self.auth_failures = Limiter(self.settings.auth_failure_limit, "wrong API keys")
        self.ingests = Limiter(self.settings.ingest_limit, "ingest requests for this key")

    def advance(self, revision: int) -> None:
        if self.cache.advance(revision):
            self.keys.clear()

    async def poll(self, stopping: asyncio.Event) -> None:
        """Follow the registry revision so publishes through other processes reach us,
        until `stopping` is set."""
        failing = False
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.settings.poll_interval)
                return
            try:
                self.advance(await run_in_threadpool(self.store.revision))
            except Exception as exc:  # the database is down: keep serving what we have
                if not failing:
                    log.warning("cannot read the registry revision (serving cached): %s", exc)
                failing = True
            else:
                if failing:
                    log.warning("the database answers again")
                failing = False


def registry_of(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


async def read(request: Request, query: Callable[..., T], *args: Any) -> T:
    """Run `query(conn, *args)` in one read transaction on a worker thread."""
    store = registry_of(request).store

    def run() -> T:
        with store.read() as conn:
            return query(conn, *args)

    return await run_in_threadpool(run)
