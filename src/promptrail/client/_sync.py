"""`Client`: prompts for threaded (and plain) Python programs.

Threads: the cache is read without a lock; cold fetches of one key are shared (one
request however many threads ask); refreshes run on at most `REFRESH_THREADS` daemon
threads per client, so the thread count stays flat and a process exits without waiting
for them.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterable
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

REFRESH_THREADS = 2


class _Workers:
    """A few daemon threads fed by a queue; started on first use."""

    def __init__(self, size: int = REFRESH_THREADS):
        self._queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._size = size
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._queue.put((fn, args))
        if len(self._threads) < self._size:
            with self._lock:
                if len(self._threads) < self._size:
                    thread = threading.Thread(
                        target=self._run, name="promptrail-refresh", daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            fn, args = job
            with contextlib.suppress(Exception):  # a refresh must never kill its thread
                fn(*args)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._queue.put(None)


class _Resources:
    """What a Client holds open: its refresh threads and its connection pool."""

    def __init__(self) -> None:
        self.workers = _Workers()
        self.http: Any = None
        # What the connection pool raises: (timeouts, other failures to retry); set with it.
        self.errors: tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]] = ((), ())

    def close(self) -> None:
        self.workers.shutdown()
        http, self.http = self.http, None
        if http is not None:
            http.close()


# A forked child keeps its parent's connections referenced, unused: closing them there
# could wait on a lock a parent thread held at the fork.
_inherited: list[_Resources] = []


class Client(BaseClient):
    """Fetches prompts from the registry, caches them and never takes the app down.

    `Client(url=None, api_key=None, *, snapshot=None, prompts_dir=None, timeout=2.0,
    max_retries=2, transport=None)`; arguments left out come from PROMPTRAIL_URL,
    PROMPTRAIL_API_KEY, PROMPTRAIL_SNAPSHOT and PROMPTRAIL_PROMPTS_DIR.
    """

    def _start(self) -> None:
        self._flights: dict[Key, threading.Event] = {}
        self._own()

    def _own(self) -> None:
        self._res = _Resources()
        # A client dropped without close() still stops its threads and closes its sockets.
        self._finalizer = weakref.finalize(self, self._res.close)
        self._finalizer.atexit = False  # exit must not wait on a refresh in flight

    def get_prompt(
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
        """The prompt `name` by label (default production) or version.

        `label={"a": 0.5, "b": 0.5}, key=user_id` picks one label per key (sticky A/B).
        Within `cache_ttl` seconds of a fetch this is a dict lookup; after it the cached
        prompt is returned at once and refreshed in the background. A cold call waits at
        most `timeout` seconds, then falls back: snapshot, folder, `fallback` (a string,
        or a list of messages for a chat prompt), else PromptNotFound/RegistryUnavailable.
        """
        try:
            entry = self._labels[label][name] if version is None else self._pinned[name, version]
        except (KeyError, TypeError):  # not cached, or label is a {label: weight} split
            pass
        else:
            if monotonic() - entry.at < cache_ttl:
                return entry.prompt
        return self._get(name, label, version, cache_ttl, fallback, timeout, max_retries, key)

    def _get(
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
            return self.get_prompt(
                name,
                label=chosen,
                version=version,
                cache_ttl=cache_ttl,
                fallback=fallback,
                timeout=timeout,
                max_retries=max_retries,
            )
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
            return self._shared(key, budget, retries)
        except RegistryError as error:
            return self._answer(key, fallback, error)
        except Exception as exc:  # a bug of ours must not take the application down
            return self._answer(key, fallback, self._unexpected(key, exc))

    def preload(
        self,
        names: Iterable[str],
        *,
        label: str = PRODUCTION,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        timeout: float | None = None,
    ) -> dict[str, Prompt | RegistryError]:
        """Warm the cache at start; returns each name's prompt or error (never raises them)."""
        results: dict[str, Prompt | RegistryError] = {}
        for name in names:
            try:
                results[name] = self.get_prompt(
                    name, label=label, cache_ttl=cache_ttl, timeout=timeout
                )
            except RegistryError as error:
                results[name] = error
        return results

    # -- single flight ----------------------------------------------------------------------

    def _shared(self, key: Key, budget: float, retries: int) -> Prompt:
        """Resolve `key` once however many threads ask; each waits at most `budget`."""
        with self._lock:
            flight = self._flights.get(key)
            owner = flight is None
            if owner:
                flight = self._flights[key] = threading.Event()
        assert flight is not None
        if owner:
            try:
                return self._resolve(key, monotonic() + budget, retries, background=False)
            finally:
                self._land(key, flight)
        if not flight.wait(budget):
            return self._gave_up(key, budget)
        entry = self._entry(key)
        if entry is not None:
            return entry.prompt if entry.failures == 0 else entry.stale
        miss = self._misses.get(key)
        if miss is not None:
            raise fresh(miss.error)
        raise self._waited_too_long(key, budget)

    def _gave_up(self, key: Key, budget: float) -> Prompt:
        """Another thread's fetch is still running past our timeout: answer without it."""
        entry = self._entry(key)
        if entry is not None:
            return entry.stale
        return self._local(key, [f"registry {self.url}: no answer in {budget:g} s"])

    def _land(self, key: Key, flight: threading.Event) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.set()

    def _schedule(self, key: Key, entry: Any) -> None:
        """One background refresh (or retry of a miss) per key at a time."""
        with self._lock:
            if key in self._flights or self._closed:
                return
            flight = self._flights[key] = threading.Event()
        if entry is not None:  # stale callers skip the lock until this refresh is done
            entry.retry_at = monotonic() + self.timeout + 1
        self._res.workers.submit(self._background, key, flight)

    def _background(self, key: Key, flight: threading.Event) -> None:
        try:
            self._resolve(key, monotonic() + self.timeout, self.max_retries, background=True)
        except RegistryError:
            pass
        finally:
            self._land(key, flight)

    # -- the chain ----------------------------------------------------------------------------

    def _resolve(self, key: Key, deadline: float, retries: int, background: bool) -> Prompt:
        """Registry, else stale entry, else snapshot, folder; raises when all fail."""
        tried: list[str] = []
        entry = self._entry(key)
        skip = self._skip_registry(background)
        if skip is not None:
            tried.append(skip)
            if entry is not None and self.url is not None:
                return entry.stale
            return self._local(key, tried)
        outcome = self._fetch(key, entry.etag if entry else None, deadline, retries)
        prompt = self._apply(key, outcome, tried)
        if prompt is not None:
            return prompt
        return self._local(key, tried, not_found=outcome.kind == "not_found")

    def _fetch(self, key: Key, etag: str | None, deadline: float, retries: int) -> Outcome:
        budget = deadline - monotonic()
        http = self._res.http or self._open()
        if http is None:
            return Outcome("failed", f"registry {self.url}: the client is closed")
        timeouts, failures = self._res.errors
        path, params = request_path(key)
        headers = self._headers(etag)
        retry = Retry(QUICK_RETRY, retries, deadline)
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                return timed_out(budget)
            try:
                response = http.get(path, params=params, headers=headers, timeout=remaining)
                outcome = interpret(
                    response.status_code,
                    response.headers.get("etag"),
                    response.content,
                    response.headers.get("content-type"),
                )
            except timeouts:
                return timed_out(budget)
            except failures as exc:
                outcome = Outcome("failed", failure_reason(exc), retry=True)
            except RuntimeError as exc:  # closed meanwhile by close()
                return Outcome("failed", str(exc))
            delay = retry_after(outcome, retry)
            if delay is None:
                return outcome
            time.sleep(delay)

    def _open(self) -> Any:
        """The connection pool, made on first use; None once closed: a refresh that was
        already past its check when close() ran must not open a pool nobody closes."""
        with self._lock:
            if self._closed:
                return None
            if self._res.http is not None:
                return self._res.http
            url = self.url or ""
            if self._transport is None and url.startswith("http://"):
                # Plain HTTP, nothing custom: the standard library, no httpx to import.
                from promptrail.client import _plainhttp as plain

                self._res.errors = ((plain.RequestTimeout,), (plain.TransportError,))
                self._res.http = plain.PlainHttp(url)
                return self._res.http
            import httpx  # https:// or a transport of the caller's: httpx

            self._res.errors = ((httpx.TimeoutException,), (httpx.HTTPError,))
            self._res.http = httpx.Client(
                base_url=url,
                transport=self._transport,
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=4),
            )
            return self._res.http

    # -- lifecycle ----------------------------------------------------------------------------

    def _after_fork(self) -> None:
        super()._after_fork()
        # The parent's threads do not exist here and its connections are not ours to use.
        self._flights = {}
        self._finalizer.detach()
        _inherited.append(self._res)
        self._own()
        for entry in self._entries():
            entry.retry_at = 0.0

    def close(self) -> None:
        """Stop refreshing and close connections; cached prompts are still served."""
        with self._lock:  # so that _open either sees it or has made what the finalizer closes
            self._closed = True
        self._finalizer()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
