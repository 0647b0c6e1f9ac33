"""`AsyncClient`: the same client for asyncio programs, method for method.

Cold fetches of one key are shared by every task that asks (one request per key);
refreshes are tasks on the running loop. Reading a prompts folder (which may run git)
happens in a worker thread so the loop never blocks on it. Like an httpx.AsyncClient,
one AsyncClient belongs to one event loop at a time; used from a new loop, it opens new
connections and keeps its cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from time import monotonic
from typing import Any

from promptrail.client._core import (
    DEFAULT_CACHE_TTL,
    QUICK_RETRY,
    BaseClient,
    Key,
    Outcome,
    failure_reason,
    fresh,
    interpret,
    request_path,
    retry_after,
    timed_out,
)
from promptrail.client.prompts import ChatPrompt, Prompt, TextPrompt
from promptrail.constants import PRODUCTION
from promptrail.errors import RegistryError
from promptrail.retry import Retry


class AsyncClient(BaseClient):
    """`await client.get_prompt(name, label=... | version=...)`; see `Client` for the rest."""

    def _start(self) -> None:
        self._http: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flights: dict[Key, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def get_prompt(
        self,
        name: str,
        # Pass these by keyword; their order is not part of the API. They are not declared
        # keyword-only because CPython fills missing keyword-only defaults by dict lookups,
        # which would double the cost of a cache hit.
        label: Any = PRODUCTION,
        version: int | None = None,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        fallback: Any = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        key: object = None,
    ) -> TextPrompt | ChatPrompt:
        """As `Client.get_prompt`; a cache hit never suspends."""
        try:
            entry = self._labels[label][name] if version is None else self._pinned[name, version]
        except (KeyError, TypeError):  # not cached, or label is a {label: weight} split
            pass
        else:
            if monotonic() - entry.at < cache_ttl:
                return entry.prompt
        return await self._get(name, label, version, cache_ttl, fallback, timeout, max_retries, key)

    async def _get(
        self,
        name: str,
        label: Any,
        version: int | None,
        cache_ttl: float,
        fallback: Any,
        timeout: float | None,
        max_retries: int | None,
        ab_key: object,
    ) -> Prompt:
        key, chosen = self._key(name, label, version, ab_key)
        if chosen is not None:  # an A/B split: the chosen variant's own fast path
            return await self.get_prompt(
                name,
                label=chosen,
                version=version,
                cache_ttl=cache_ttl,
                fallback=fallback,
                timeout=timeout,
                max_retries=max_retries,
            )
        self._bind()
        now = monotonic()
        entry = self._entry(key)
        if entry is not None and cache_ttl > 0:
            if now >= entry.retry_at:
                self._schedule(key, entry)
            return entry.stale
        miss = self._misses.get(key)
        if miss is not None and entry is None:
            if now >= miss.retry_at:
                self._schedule(key, None)
            return self._answer(key, fallback, miss.error)
        budget = self.timeout if timeout is None else timeout
        retries = self.max_retries if max_retries is None else max_retries
        try:
            return await self._shared(key, budget, retries)
        except RegistryError as error:
            return self._answer(key, fallback, error)
        except Exception as exc:  # a bug of ours must not take the application down
            return self._answer(key, fallback, self._unexpected(key, exc))

    async def preload(
        self,
        names: Iterable[str],
        *,
        label: str = PRODUCTION,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        timeout: float | None = None,
    ) -> dict[str, Prompt | RegistryError]:
        """Warm the cache at start, all names at once; each name's prompt or error."""
        names = list(names)
        found = await asyncio.gather(
            *(
                self.get_prompt(name, label=label, cache_ttl=cache_ttl, timeout=timeout)
                for name in names
            ),
            return_exceptions=True,
        )
        results: dict[str, Prompt | RegistryError] = {}
        for name, result in zip(names, found, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, RegistryError):
                raise result
            results[name] = result
        return results

    # -- single flight ----------------------------------------------------------------------

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Connections and events belong to the loop that made them; the cache does not.
            self._loop, self._http, self._flights, self._tasks = loop, None, {}, set()

    async def _shared(self, key: Key, budget: float, retries: int) -> Prompt:
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = asyncio.Event()
            try:
                return await self._resolve(key, monotonic() + budget, retries, background=False)
            finally:
                self._land(key, flight)
        try:
            await asyncio.wait_for(flight.wait(), budget)
        except TimeoutError:
            entry = self._entry(key)
            if entry is not None:
                return entry.stale
            return await self._local_async(key, [f"registry {self.url}: no answer in {budget:g} s"])
        entry = self._entry(key)
        if entry is not None:
            return entry.prompt if entry.failures == 0 else entry.stale
        miss = self._misses.get(key)
        if miss is not None:
            raise fresh(miss.error)
        raise self._waited_too_long(key, budget)

    def _land(self, key: Key, flight: asyncio.Event) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        flight.set()

    def _schedule(self, key: Key, entry: Any) -> None:
        if key in self._flights or self._closed:
            return
        flight = self._flights[key] = asyncio.Event()
        if entry is not None:
            entry.retry_at = monotonic() + self.timeout + 1
        task = asyncio.get_running_loop().create_task(self._background(key, flight))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _background(self, key: Key, flight: asyncio.Event) -> None:
        try:
            await self._resolve(key, monotonic() + self.timeout, self.max_retries, background=True)
        except Exception:  # a refresh never raises anywhere
            pass
        finally:
            self._land(key, flight)

    # -- the chain ----------------------------------------------------------------------------

    async def _resolve(self, key: Key, deadline: float, retries: int, background: bool) -> Prompt:
        tried: list[str] = []
        entry = self._entry(key)
        skip = self._skip_registry(background)
        if skip is not None:
            tried.append(skip)
            if entry is not None and self.url is not None:
                return entry.stale
            return await self._local_async(key, tried)
        outcome = await self._fetch(key, entry.etag if entry else None, deadline, retries)
        prompt = self._apply(key, outcome, tried)
        if prompt is not None:
            return prompt
        return await self._local_async(key, tried, outcome.kind == "not_found")

    async def _local_async(self, key: Key, tried: list[str], not_found: bool = False) -> Prompt:
        if self.prompts_dir is None:  # a snapshot is read once and small: no thread needed
            return self._local(key, tried, not_found)
        return await asyncio.to_thread(self._local, key, tried, not_found)

    async def _fetch(self, key: Key, etag: str | None, deadline: float, retries: int) -> Outcome:
        budget = deadline - monotonic()
        import httpx  # first network fetch only: keeps `import promptrail` light

        http = self._http
        if http is None:
            http = self._http = httpx.AsyncClient(
                base_url=self.url or "",
                transport=self._transport,
                # No connection outlives its request: one may not outlive its event loop,
                # and a fetch happens at most once per key and TTL anyway.
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=0),
            )
        path, params = request_path(key)
        headers = self._headers(etag)
        retry = Retry(QUICK_RETRY, retries, deadline)
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                return timed_out(budget)
            try:
                async with asyncio.timeout(remaining):  # a hard bound, slow trickles included
                    response = await http.get(
                        path, params=params, headers=headers, timeout=remaining
                    )
                outcome = interpret(
                    response.status_code,
                    response.headers.get("etag"),
                    response.content,
                    response.headers.get("content-type"),
                )
            except (TimeoutError, httpx.TimeoutException):
                return timed_out(budget)
            except httpx.HTTPError as exc:
                outcome = Outcome("failed", failure_reason(exc), retry=True)
            except RuntimeError as exc:  # closed meanwhile by aclose()
                return Outcome("failed", str(exc))
            delay = retry_after(outcome, retry)
            if delay is None:
                return outcome
            await asyncio.sleep(delay)

    # -- lifecycle ----------------------------------------------------------------------------

    def _after_fork(self) -> None:
        super()._after_fork()
        self._loop, self._http, self._flights, self._tasks = None, None, {}, set()
        for entry in self._entries():
            entry.retry_at = 0.0

    async def aclose(self) -> None:
        """Cancel refreshes and close connections; cached prompts are still served."""
        self._closed = True
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        http, self._http = self._http, None
        if http is not None and self._loop is asyncio.get_running_loop():
            await http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
