"""What `Client` and `AsyncClient` share: configuration, the cache, the failure chain.

Nothing here does network I/O; the two clients differ only in how they fetch, wait and
schedule a background refresh. The cache is a plain dict read without a lock (a dict
lookup is atomic under the GIL); writers replace whole entries.

Keys are `(name, label, version)` as get_prompt was called; a version, when given, wins
over the label. Entries live in `_labels[label][name]` and `_pinned[name, version]`: a
hit by label is two lookups of strings whose hashes Python has cached, no tuple built.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from time import monotonic
from typing import Any

from promptrail import settings
from promptrail.client.local import Folder, Snapshot, load_snapshot
from promptrail.client.prompts import Prompt, fallback_prompt, identity_problem, prompt_from_data
from promptrail.errors import (
    InvalidPromptData,
    PromptNotFound,
    RegistryError,
    RegistryUnavailable,
    SnapshotError,
    UsageError,
)
from promptrail.retry import Backoff, Retry

log = logging.getLogger("promptrail.client")

DEFAULT_CACHE_TTL = 60.0  # seconds a fetched prompt is served without asking again
DEFAULT_TIMEOUT = 2.0  # seconds a cold get_prompt may wait for the registry, retries included
DEFAULT_MAX_RETRIES = 2  # extra attempts after a failure that is quick (refused, 5xx, garbage)
# Retry n of one fetch waits uniform(0, min(0.5, 0.05 * 2**n)), within the timeout.
QUICK_RETRY = Backoff(0.05, 0.5)
# After a failed refresh, wait 1 s before the next, doubling up to 30 s.
REFRESH_RETRY = Backoff(1.0, 30.0, jitter="none")
API_PREFIX = "/api/v1/prompts/"

Key = tuple[str, Any, int | None]


class Entry:
    """A cached prompt: served as `prompt` until `at + ttl`, then as `stale` while refreshed."""

    __slots__ = ("at", "etag", "failures", "prompt", "retry_at", "stale")

    def __init__(self, prompt: Prompt, at: float, etag: str | None = None):
        self.prompt = prompt  # source "cache" (from the registry), "snapshot" or "folder"
        self.stale = prompt._replace(source="stale") if prompt.source == "cache" else prompt
        self.at = at
        self.etag = etag
        self.retry_at = 0.0  # no background refresh before this (set while one runs or failed)
        self.failures = 0


class Miss:
    """Nothing had the key last time: answer from this without I/O until `retry_at`."""

    __slots__ = ("error", "failures", "retry_at")

    def __init__(self, error: RegistryError, retry_at: float, failures: int):
        self.error = error
        self.retry_at = retry_at
        self.failures = failures


class Outcome:
    """What one registry request came to; `retry` when another attempt may help."""

    __slots__ = ("data", "etag", "kind", "message", "retry")

    def __init__(
        self,
        kind: str,  # "ok" | "not_modified" | "not_found" | "failed"
        message: str = "",
        data: dict[str, Any] | None = None,
        etag: str | None = None,
        retry: bool = False,
    ):
        self.kind = kind
        self.message = message
        self.data = data
        self.etag = etag
        self.retry = retry


def interpret(
    status: int, etag: str | None, body: bytes, content_type: str | None = None
) -> Outcome:
    """Turn one HTTP answer into an Outcome; never raises.

    Only the registry's own answer that a prompt or label does not exist (a JSON ApiError
    with code `not_found`) is "not found": a 404 from a proxy or a wrong address is an
    unavailable registry, so it never takes a cached prompt away.
    """
    import json

    if status == 304:
        return Outcome("not_modified", "HTTP 304 for a prompt no longer cached", etag=etag)
    if status == 404:
        error = message = None
        with contextlib.suppress(ValueError, AttributeError):
            answer = json.loads(body)
            error, message = answer.get("error"), answer.get("message")
        if error == "not_found" and isinstance(message, str) and message:
            return Outcome("not_found", message)
        return Outcome(
            "failed", "HTTP 404 that is not the registry's answer (a proxy or a wrong URL?)"
        )
    if content_type is not None and status == 200 and "json" not in content_type.lower():
        return Outcome("failed", f"the answer is {content_type}, not JSON", retry=True)
    if status in (401, 403):
        return Outcome(
            "failed",
            f"HTTP {status}: the registry refused the API key "
            "(set PROMPTRAIL_API_KEY to a key with the `read` scope)",
        )
    if status != 200:
        return Outcome("failed", f"HTTP {status}", retry=status >= 500 or status == 429)
    try:
        data = json.loads(body)
    except ValueError as exc:
        return Outcome("failed", f"invalid JSON in the answer ({exc})", retry=True)
    if not isinstance(data, dict):
        return Outcome("failed", "the answer is not a JSON object", retry=True)
    return Outcome("ok", data=data, etag=etag)


def target(key: Key) -> tuple[str, str | int]:
    """(name, version) or (name, label): what to ask a source for."""
    name, label, version = key
    return (name, version) if version is not None else (name, label)


def label_of(key: Key) -> str | None:
    """The label a prompt is fetched by (None when pinned by version)."""
    return key[1] if key[2] is None else None


def request_path(key: Key) -> tuple[str, dict[str, str]]:
    from urllib.parse import quote

    name, which = target(key)
    param = "version" if isinstance(which, int) else "label"
    return API_PREFIX + quote(name, safe="/"), {param: str(which)}


def describe(key: Key) -> str:
    name, which = target(key)
    kind = "version" if isinstance(which, int) else "label"
    return f"prompt {name!r} ({kind} {which!r})"


def fresh(error: RegistryError) -> RegistryError:
    """A new copy to raise: raising one remembered instance again and again would grow
    its traceback on every call."""
    return type(error)(str(error), error.status)


def timed_out(budget: float) -> Outcome:
    return Outcome("failed", f"no answer within the {budget:.2g} s timeout")


def failure_reason(exc: Exception) -> str:
    """What went wrong with a request that got no answer, for the error message."""
    from promptrail.client import _plainhttp as plain

    if isinstance(exc, plain.ConnectFailed):
        return f"cannot connect ({exc})"
    if isinstance(exc, plain.BrokenAnswer):
        return f"the connection broke mid-answer ({exc})"
    if isinstance(exc, plain.TransportError):
        return str(exc)
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the connection broke mid-answer ({exc})"
    return f"{type(exc).__name__}: {exc}"


def retry_after(outcome: Outcome, retry: Retry) -> float | None:
    """Seconds to wait before trying again, or None: `outcome` is the answer."""
    if outcome.retry and retry.attempt:
        outcome.message += f" ({retry.attempt + 1} attempts)"
    return retry.next_delay() if outcome.retry else None


def retry_delay(failures: int) -> float:
    return REFRESH_RETRY.delay(failures - 1)


def choose_variant(name: str, weights: Mapping[str, float], key: object) -> str:
    """The label `key` gets in an A/B split: the same one every time, in every process.

    A stable hash of name and key picks a point in [0, 1); labels are taken in sorted
    order with their normalized weights, so reordering the mapping changes nothing.
    """
    if key is None:
        raise UsageError(
            f"get_prompt({name!r}, label={{...}}) splits traffic by key: pass key=<user or "
            "session id> so each one keeps its variant"
        )
    items: list[tuple[str, float]] = []
    for label, weight in sorted(weights.items()):
        if not isinstance(label, str) or not isinstance(weight, int | float) or weight < 0:
            raise UsageError(
                f"label= for {name!r} maps label names to weights >= 0, got {label!r}: {weight!r}"
            )
        if weight > 0:
            items.append((label, float(weight)))
    if not items:
        raise UsageError(f"label= for {name!r}: at least one weight must be above 0")
    total = sum(weight for _, weight in items)
    import hashlib

    digest = hashlib.blake2b(f"{name}\0{key}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") / 2**64 * total
    for label, weight in items:
        point -= weight
        if point < 0:
            return label
    return items[-1][0]


_clients: weakref.WeakSet[BaseClient] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _setting(value: Any, variable: settings.Variable) -> Any:
    # An argument wins; "" switches a source off even when the environment sets it.
    if value is None:
        value = variable.get()
    return value or None


class BaseClient:
    """Configuration, cache and failure chain; subclasses add the I/O."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        snapshot: str | os.PathLike[str] | None = None,
        prompts_dir: str | os.PathLike[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: Any = None,
    ):
        url = _setting(url, settings.URL)
        self.url: str | None = url.rstrip("/") if url else None
        self.api_key: str | None = _setting(api_key, settings.API_KEY)
        self.snapshot_path: str | None = _setting(
            os.fspath(snapshot) if snapshot else snapshot, settings.SNAPSHOT
        )
        self.prompts_dir: str | None = _setting(
            os.fspath(prompts_dir) if prompts_dir else prompts_dir, settings.PROMPTS_DIR
        )
        if timeout <= 0 or max_retries < 0:
            raise UsageError("timeout must be > 0 and max_retries >= 0")
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self._transport = transport
        self._labels: dict[str, dict[str, Entry]] = {}  # label -> name -> entry
        self._pinned: dict[tuple[str, int], Entry] = {}  # (name, version) -> entry
        self._misses: dict[Key, Miss] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._down_until = 0.0  # the registry failed: cold calls skip it until then
        self._down_failures = 0
        self.untrusted_answers = 0  # registry answers refused: another prompt, altered text
        self._snapshot: Snapshot | SnapshotError | None = None
        self._folder: Folder | None = None
        self._start()
        _clients.add(self)

    def _start(self) -> None:
        """The I/O state of a subclass: connections, in-flight fetches, refreshers."""

    def _after_fork(self) -> None:
        # Locks may have been held by threads that do not exist in the child.
        self._lock = threading.Lock()
        if self._folder is not None:
            self._folder._lock = threading.Lock()

    # -- cache bookkeeping ------------------------------------------------------------------

    def _entry(self, key: Key) -> Entry | None:
        name, label, version = key
        if version is None:
            return self._labels.get(label, {}).get(name)
        return self._pinned.get((name, version))

    def _entries(self) -> list[Entry]:
        return [*self._pinned.values(), *(e for m in self._labels.values() for e in m.values())]

    def _evict(self, key: Key) -> None:
        name, label, version = key
        if version is None:
            self._labels.get(label, {}).pop(name, None)
        else:
            self._pinned.pop((name, version), None)

    def _store(self, key: Key, prompt: Prompt, etag: str | None = None) -> Prompt:
        source = "cache" if prompt.source == "registry" else prompt.source
        entry = Entry(prompt._replace(source=source), monotonic(), etag)
        name, label, version = key
        if version is None:
            self._labels.setdefault(label, {})[name] = entry
        else:
            self._pinned[name, version] = entry
        self._misses.pop(key, None)
        return entry.prompt

    def _headers(self, etag: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if etag:
            headers["If-None-Match"] = etag
        return headers

    def _skip_registry(self, background: bool) -> str | None:
        """Why the registry is not asked this time, or None to ask it."""
        if self.url is None:
            return "no registry configured (set PROMPTRAIL_URL or pass url=)"
        if self._closed:
            return f"registry {self.url}: the client is closed"
        if not background and monotonic() < self._down_until:
            return f"registry {self.url} skipped: it failed moments ago (retried in the background)"
        return None

    def _apply(self, key: Key, outcome: Outcome, tried: list[str]) -> Prompt | None:
        """Record what the registry said; the prompt when it gave one, else None."""
        now = monotonic()
        entry = self._entry(key)
        if outcome.kind == "ok":
            try:
                prompt = prompt_from_data(outcome.data, "registry", label_of(key))
                problem = identity_problem(key, outcome.data or {})
            except InvalidPromptData as exc:
                outcome = Outcome("failed", f"the answer is not a prompt ({exc})")
            else:
                if problem is None:
                    self._down_failures, self._down_until = 0, 0.0
                    self._store(key, prompt, outcome.etag)
                    return prompt
                self.untrusted_answers += 1
                log.warning("promptrail: refused an answer for %s: %s", describe(key), problem)
                outcome = Outcome("failed", f"untrusted answer: {problem}")
        if outcome.kind == "not_modified" and entry is not None:
            self._down_failures, self._down_until = 0, 0.0
            entry.at, entry.failures, entry.retry_at = now, 0, 0.0
            return entry.prompt
        if outcome.kind == "not_found":
            self._down_failures, self._down_until = 0, 0.0
            self._evict(key)  # the label moved away or was removed: stop serving it
            tried.append(f"registry {self.url}: not found ({outcome.message})")
            return None
        self._down_failures += 1
        self._down_until = now + retry_delay(self._down_failures)
        tried.append(f"registry {self.url}: {outcome.message}")
        if entry is not None:
            entry.failures += 1
            entry.retry_at = now + retry_delay(entry.failures)
            return entry.stale
        return None

    def _local(self, key: Key, tried: list[str], not_found: bool = False) -> Prompt:
        """Snapshot, then folder; records a Miss and raises when neither has the key."""
        for source in (self._snapshot_source(tried), self._folder_source(tried)):
            if source is None:
                continue
            data = source.lookup(target(key), tried)
            if data is None:
                continue
            try:
                prompt = prompt_from_data(data, source.kind, label_of(key))
            except InvalidPromptData as exc:
                tried.append(f"{source.kind} {source.path}: unusable entry ({exc})")
                continue
            return self._store(key, prompt)
        error = self._error(key, tried, not_found)
        previous = self._misses.get(key)
        failures = previous.failures + 1 if previous else 1
        # Asked again only after a pause (1 s, doubling to 30 s), and then in the background.
        self._misses[key] = Miss(error, monotonic() + retry_delay(failures), failures)
        if self.url is None:  # local-only: the file is gone, so is the prompt
            self._evict(key)
        raise error

    def _snapshot_source(self, tried: list[str]) -> Snapshot | None:
        if self.snapshot_path is None:
            tried.append("no snapshot configured (set PROMPTRAIL_SNAPSHOT or pass snapshot=)")
            return None
        if self._snapshot is None:
            try:
                self._snapshot = load_snapshot(self.snapshot_path)
            except SnapshotError as exc:
                self._snapshot = exc
        if isinstance(self._snapshot, SnapshotError):
            tried.append(str(self._snapshot))
            return None
        return self._snapshot

    def _folder_source(self, tried: list[str]) -> Folder | None:
        if self.prompts_dir is None:
            tried.append(
                "no prompts folder configured (set PROMPTRAIL_PROMPTS_DIR or pass prompts_dir=)"
            )
            return None
        if self._folder is None:
            self._folder = Folder(self.prompts_dir)
        return self._folder

    def _error(self, key: Key, tried: list[str], not_found: bool) -> RegistryError:
        what = describe(key)
        steps = "; ".join(tried)
        if not_found or (self.url is None and (self.snapshot_path or self.prompts_dir)):
            name, which = target(key)
            option = f"--version {which}" if isinstance(which, int) else f"--label {which}"
            return PromptNotFound(
                f"{what} not found: {steps}. Check the name and label "
                f"(`promptrail get {name} {option}`), publish it, or pass fallback= to get_prompt",
                404,
            )
        return RegistryUnavailable(
            f"cannot get {what}: {steps}. Ship a snapshot (`promptrail snapshot`, then set "
            "PROMPTRAIL_SNAPSHOT), or pass fallback= to get_prompt"
        )

    def _waited_too_long(self, key: Key, budget: float) -> RegistryUnavailable:
        return RegistryUnavailable(
            f"cannot get {describe(key)}: registry {self.url} gave no answer within "
            f"{budget:g} s (timeout=); pass fallback= to get_prompt, or ship a snapshot"
        )

    @staticmethod
    def _unexpected(key: Key, exc: Exception) -> RegistryUnavailable:
        return RegistryUnavailable(
            f"cannot get {describe(key)}: unexpected {type(exc).__name__}: {exc} "
            "(a promptrail bug: please report it)"
        )

    @staticmethod
    def _answer(key: Key, fallback: Any, error: RegistryError) -> Prompt:
        if fallback is None:
            raise fresh(error)
        return fallback_prompt(key[0], fallback, label_of(key))

    @staticmethod
    def _key(name: str, label: Any, version: int | None, ab_key: object) -> tuple[Key, str | None]:
        """The cache key of a call, and the A/B variant when `label` is a split."""
        if version is not None and (
            not isinstance(version, int) or isinstance(version, bool) or version < 1
        ):
            raise UsageError(f"version for {name!r} must be an integer >= 1, got {version!r}")
        chosen = None
        if isinstance(label, Mapping):
            label = chosen = choose_variant(name, label, ab_key)
        if not isinstance(label, str) or not label:
            raise UsageError(f"label for {name!r} must be a label name or {{label: weight}}")
        if not isinstance(name, str) or not name:
            raise UsageError(f"a prompt name is a non-empty string, got {name!r}")
        return (name, label, version), chosen
