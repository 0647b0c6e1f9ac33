"""API keys and scopes; `require_scope("publish")` is the dependency routes use.

A key comes as `Authorization: Bearer <key>`, or as HTTP Basic `public:secret` with a key
pair (what OTLP exporters and Langfuse's SDK send); both carry the key's scopes.

Scopes: `read` (GET prompts, state), `publish` (create versions, move labels that are not
protected, previews), `deploy` (also move protected labels such as `production`),
`ingest` (send traces), `admin` (everything, and manage keys). `deploy` includes
`publish`, and both include `read`, so one CI key suffices.

With auth off (loopback only) every request acts as an admin.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from promptrail.errors import ApiProblem
from promptrail.store import Store

SCOPES = ("read", "publish", "deploy", "ingest", "admin")
IMPLIES = {
    "admin": frozenset(SCOPES),
    "deploy": frozenset({"deploy", "publish", "read"}),
    "publish": frozenset({"publish", "read"}),
    "read": frozenset({"read"}),
    "ingest": frozenset({"ingest"}),
}
KEY_TTL = 60.0  # seconds a checked key is trusted without asking the database again
BEARER = "Bearer "
BASIC = "Basic "


def effective(scopes: list[str]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for scope in scopes:
        out |= IMPLIES.get(scope, frozenset())
    return out


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a key (id, shown prefix, scopes), or anyone when auth is off."""

    key_id: int | None
    prefix: str | None
    scopes: frozenset[str]
    granted: tuple[str, ...] = ()  # the scopes as created, for messages

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def describe(self) -> str:
        return f"the API key {self.prefix}… (id {self.key_id})"


ANYONE = Principal(None, None, frozenset(SCOPES), ("auth off",))


class KeyCache:
    """Header value -> Principal (or an ApiProblem for a bad key), for KEY_TTL seconds.

    Dropped whenever the registry revision moves (key created or revoked anywhere).
    `readers` is the hot path's view: header values of live keys holding `read`, each
    with the time until which it is trusted (then it is checked again, and marked used).
    """

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Principal | ApiProblem]] = {}
        self.readers: dict[bytes, float] = {}

    def clear(self) -> None:
        self.entries = {}
        self.readers = {}

    def can_read(self, header: bytes) -> bool:
        return self.readers.get(header, 0.0) > time.monotonic()

    async def resolve(self, store: Store, header: str) -> Principal:
        now = time.monotonic()
        found = self.entries.get(header)
        if found is None or now - found[0] > KEY_TTL:
            found = (now, await run_in_threadpool(_lookup, store, header))
            if len(self.entries) > 10_000:
                self.clear()
            self.entries[header] = found
            value = found[1]
            if isinstance(value, Principal) and value.has("read"):
                self.readers[header.encode("latin-1")] = now + KEY_TTL
            else:
                self.readers.pop(header.encode("latin-1"), None)
        if isinstance(found[1], ApiProblem):
            # A fresh exception each time: re-raising the cached one would chain every
            # request's frames onto its traceback and keep them alive in the cache.
            cached = found[1]
            raise ApiProblem(
                cached.status, cached.code, cached.message, cached.details, cached.headers
            )
        return found[1]


def _credentials(header: str) -> tuple[str, str | None] | ApiProblem:
    """(secret, public key or None) from a Bearer or Basic Authorization header."""
    scheme = header[: len(BASIC)]
    if scheme.lower() == BASIC.lower():
        try:
            decoded = base64.b64decode(header[len(BASIC) :].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        public, colon, secret = decoded.partition(":")
        if not colon or not public or not secret:
            return _unauthorized(
                "HTTP Basic auth must carry base64 `public:secret` of a key pair (create one "
                "with `promptrail keys create --pair`)"
            )
        return secret, public
    if header[: len(BEARER)].lower() != BEARER.lower():
        return _unauthorized(
            "the Authorization header must read `Bearer <key>` or `Basic <base64 public:secret>`"
        )
    return header[len(BEARER) :].strip(), None


def _lookup(store: Store, header: str) -> Principal | ApiProblem:
    credentials = _credentials(header)
    if isinstance(credentials, ApiProblem):
        return credentials
    token, public = credentials
    info = store.authenticate(token, public)
    shown = token[:12] + "…" if len(token) > 12 else "(too short)"
    if info is None and public is not None:
        return _unauthorized(
            f"the key pair {public[:12]}… / {shown} is not known to this registry: check the "
            "public and secret keys (pairs are listed by `promptrail keys list`)"
        )
    if info is None:
        return _unauthorized(
            f"the API key {shown} is not known to this registry: check PROMPTRAIL_API_KEY "
            "(keys are listed by `promptrail keys list`)"
        )
    if info.revoked_at is not None:
        return _unauthorized(
            f"the API key {info.prefix}… (id {info.id}) was revoked at {info.revoked_at}; "
            "create a new one with `promptrail keys create`"
        )
    return Principal(info.id, info.prefix, effective(info.scopes), tuple(info.scopes))


def _unauthorized(message: str) -> ApiProblem:
    return ApiProblem(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(principal: Principal, scope: str, why: str) -> ApiProblem:
    return ApiProblem(
        403,
        "forbidden",
        f"{why} needs a key with the `{scope}` scope; {principal.describe()} has "
        f"{', '.join(principal.granted) or 'no scopes'}. Create one with "
        f"`promptrail keys create --scope {scope}`",
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the caller's Principal, or 401/403 when it lacks `scope`."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(request: Request) -> Principal:
        registry = request.app.state.registry
        if not registry.settings.auth:
            return ANYONE
        header = request.headers.get("authorization")
        if not header:
            raise _unauthorized(
                f"this request needs an API key with the `{scope}` scope: send "
                "`Authorization: Bearer <key>` (PROMPTRAIL_API_KEY for the CLI; create one "
                f"with `promptrail keys create --scope {scope}`)"
            )
        caller = client_address(request)
        registry.auth_failures.check(caller)  # 429 for a caller guessing keys
        try:
            principal: Principal = await registry.keys.resolve(registry.store, header)
        except ApiProblem as exc:
            if exc.status == 401:
                registry.auth_failures.count(caller)
            raise
        if not principal.has(scope):
            raise forbidden(principal, scope, f"{request.method} {request.url.path}")
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency
