"""Who is looking: the login page, the signed session cookie, and what a key may do here.

With auth on, the UI asks once for an API key and keeps only the key's id and a session id
in a cookie signed with a secret held in the database (`ui_secrets`, shared by every server
process), HttpOnly and SameSite=Lax. The session lives in the database too (`ui_sessions`):
each page checks it and the key again, so logging out, or revoking the key, ends it at once
for every copy of the cookie. Viewing needs the `read` scope, adding a score `ingest` (the scope the
API's POST /scores asks for). Without auth (loopback only) pages open directly.

Forms that change something are POSTs, refused unless they come from this site's own
pages (Origin or Referer on this host), on top of SameSite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from promptrail.errors import LoginRequired, Refused
from promptrail.server.auth import ANYONE, Principal, client_address, effective
from promptrail.server.state import registry_of
from promptrail.server.ui.common import render, url
from promptrail.store.ui_queries import (
    cookie_secret,
    end_session,
    key_by_id,
    session_open,
    start_session,
)

COOKIE = "promptrail_session"
MAX_AGE = 14 * 24 * 3600  # seconds a login lasts
SALT = "promptrail-ui-login"
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    logged_in: bool  # False without auth

    def can(self, scope: str) -> bool:
        return self.principal.has(scope)

    @property
    def who(self) -> str:
        return f"{self.principal.prefix}…" if self.principal.prefix else "anyone (auth off)"

    @property
    def scopes(self) -> str:
        return ", ".join(self.principal.granted)


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    found = getattr(state, "ui_serializer", None)
    if found is None:
        secret = cookie_secret(registry_of(request).store.engine)
        found = state.ui_serializer = URLSafeTimedSerializer(secret, salt=SALT)
    return found


def _session(request: Request, token: str) -> tuple[int, str] | None:
    """(key id, session id) from a cookie, or None when it is forged or too old."""
    try:
        data = _serializer(request).loads(token, max_age=MAX_AGE)
        return int(data["k"]), str(data["s"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _principal(request: Request, token: str) -> Principal | str:
    """The key a cookie names, or why it no longer logs anyone in."""
    found = _session(request, token)
    if found is None:
        return "your session expired; log in again"
    key_id, session_id = found
    with registry_of(request).store.read() as conn:
        key = key_by_id(conn, key_id)
        open_ = session_open(conn, session_id, key_id)
    if key is None or key.revoked:
        return "the key you logged in with was revoked; log in with another"
    if not open_:
        return "you logged out of this session; log in again"
    return Principal(key.id, key.prefix, effective(key.scopes), tuple(key.scopes))


async def viewer(request: Request) -> Viewer:
    """The dependency of every page: the logged-in key, or a redirect to /login."""
    registry = registry_of(request)
    if not registry.settings.auth:
        found = Viewer(ANYONE, logged_in=False)
    else:
        token = request.cookies.get(COOKIE)
        if not token:
            raise LoginRequired(_here(request))
        principal = await run_in_threadpool(_principal, request, token)
        if isinstance(principal, str):
            raise LoginRequired(_here(request), principal)
        found = Viewer(principal, logged_in=True)
        if not found.can("read"):
            request.state.viewer = found
            raise Refused(
                f"the key {found.who} has the scopes {found.scopes}; the web UI needs a key "
                "with `read` (create one with `promptrail keys create --scope read`)"
            )
    request.state.viewer = found
    return found


Viewing = Annotated[Viewer, Depends(viewer)]


def check_same_site(request: Request) -> None:
    """Refuse a form posted from another site (a second line behind SameSite=Lax)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return
    if urlsplit(origin).netloc != request.headers.get("host"):
        raise Refused("this form was sent from another site; open the page here and send it again")


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/login")
async def login_page(request: Request, next: str = "/", why: str | None = None) -> Response:
    if not registry_of(request).settings.auth:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None, why=why)


@router.post("/login")
async def login(
    request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    check_same_site(request)
    target = _safe_next(next)
    registry = registry_of(request)
    if not registry.settings.auth:
        return RedirectResponse(target, status_code=303)
    token = key.strip()
    caller = client_address(request)
    registry.auth_failures.check(caller)
    info = await run_in_threadpool(registry.store.authenticate, token) if token else None
    if token and (info is None or info.revoked_at is not None):
        registry.auth_failures.count(caller)
    error = None
    if not token:
        error = "Paste an API key (it starts with prk_, or sk-pr- for a pair's secret)."
    elif info is None:
        error = "This registry does not know that key. Keys are listed by `promptrail keys list`."
    elif info.revoked_at is not None:
        error = f"The key {info.prefix}… was revoked at {info.revoked_at}."
    elif "read" not in effective(info.scopes):
        error = (
            f"The key {info.prefix}… has the scopes {', '.join(info.scopes)}; the web UI needs "
            "one with `read` (or publish, deploy, admin)."
        )
    if error is not None or info is None:
        return render(request, "login.html", status=401, next=target, error=error, why=None)

    def new_session() -> str:
        session_id = start_session(registry.store.engine, info.id)
        return str(_serializer(request).dumps({"k": info.id, "s": session_id}))

    cookie = await run_in_threadpool(new_session)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    check_same_site(request)
    token = request.cookies.get(COOKIE)
    found = _session(request, token) if token and registry_of(request).settings.auth else None
    if found is not None:
        await run_in_threadpool(end_session, registry_of(request).store.engine, found[1])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def login_redirect(exc: LoginRequired) -> Response:
    params: dict[str, Any] = {"next": exc.next_path}
    if exc.message:
        params["why"] = exc.message
    return RedirectResponse(url("/login", **params), status_code=303)
