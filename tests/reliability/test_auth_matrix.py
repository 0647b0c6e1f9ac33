"""The auth matrix: every API operation and UI page against every kind of caller
(no key, malformed, unknown, revoked, each scope; for pages also a forged, expired,
logged-out or revoked session).

The scope each operation needs is written here, from the scopes' definitions (see
`server/auth.py`), not read from the code; an operation the OpenAPI document gains
without a line here fails the test until someone decides what it needs.
"""

from __future__ import annotations

import re
import time
from typing import Any
from unittest import mock

import pytest
from fastapi.routing import APIRoute
from itsdangerous import URLSafeTimedSerializer

from promptrail.server.ui import ROUTERS
from reliability.conftest import App, running_app

ANY_KEY = "any key"  # a valid key of whatever scope (Langfuse's auth check)
PUBLIC = "public"
NEEDS: dict[str, str] = {
    "GET /api/v1/health": PUBLIC,
    "GET /api/public/health": PUBLIC,
    "GET /api/public/projects": ANY_KEY,
    "POST /api/v1/state": "read",
    "POST /api/v1/publish": "publish",
    "GET /api/v1/keys": "admin",
    "POST /api/v1/keys": "admin",
    "DELETE /api/v1/keys/{key_id}": "admin",
    "POST /api/v1/model-prices": "admin",
    "DELETE /api/v1/model-prices/{price_id}": "admin",
    "POST /api/v1/ingest": "ingest",
    "POST /api/v1/scores": "ingest",
    "POST /api/v1/runs": "ingest",
    "POST /v1/traces": "ingest",
    "POST /api/public/otel/v1/traces": "ingest",
    "POST /api/public/ingestion": "ingest",
    "POST /api/public/scores": "ingest",
    "POST /api/public/dataset-run-items": "ingest",
    "POST /api/public/v2/prompts": "publish",
    "PATCH /api/public/v2/prompts/{name}/versions/{version}": "publish",
    "POST /api/public/v2/datasets": "publish",
    "POST /api/public/dataset-items": "publish",
}
SCOPE_KEYS = ("read", "publish", "deploy", "ingest", "admin")
GRANTS = {  # what a key of each scope may do, as server/auth.py defines the scopes
    "read": {"read"},
    "publish": {"read", "publish"},
    "deploy": {"read", "publish", "deploy"},
    "ingest": {"ingest"},
    "admin": {"read", "publish", "deploy", "ingest", "admin"},
}
BAD_CALLERS = {
    "no key": None,
    "malformed": "Bearer",
    "unknown": "Bearer prk_nobodymadethiskey00000000000000",
    "not bearer": "Token abc",
    "bad basic": "Basic !!!notbase64",
}


def operations(app: App) -> list[tuple[str, str]]:
    paths = app.http.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def needs(method: str, path: str) -> str:
    return NEEDS.get(f"{method} {path}", "read" if method == "GET" else "unlisted")


def url_of(path: str) -> str:
    # Ids no row has: an admin's DELETE must not revoke the keys the matrix runs with.
    return re.sub(
        r"\{([^}]+)\}",
        lambda m: "999999" if "id" in m.group(1) or "version" in m.group(1) else "matrix",
        path,
    )


def call(app: App, method: str, path: str, authorization: str | None) -> Any:
    headers = {} if authorization is None else {"authorization": authorization}
    body = {} if method in ("POST", "PATCH") else None
    return app.http.request(method, url_of(path), json=body, headers=headers)


@pytest.fixture
def matrix_app(backend: str) -> Any:
    # No guessing limit: this test sends hundreds of wrong keys from one address on purpose.
    with running_app(backend, auth_failure_limit=0) as app:
        yield app


def test_every_operation_has_a_declared_scope(matrix_app: App) -> None:
    unlisted = [f"{m} {p}" for m, p in operations(matrix_app) if needs(m, p) == "unlisted"]
    assert unlisted == [], "add these to NEEDS with the scope they need"


def test_no_caller_without_the_scope_gets_through_and_nothing_is_written(
    matrix_app: App,
) -> None:
    app = matrix_app
    before = app.http.get("/api/v1/state", headers=app.auth("admin")).json()
    keys_before = app.http.get("/api/v1/keys", headers=app.auth("admin")).json()
    wrong: list[str] = []
    for method, path in operations(app):
        need = needs(method, path)
        if need == PUBLIC:
            continue
        callers = {**BAD_CALLERS, "revoked": f"Bearer {app.keys['revoked']}"}
        for who, authorization in callers.items():
            status = call(app, method, path, authorization).status_code
            if status != 401:
                wrong.append(f"{method} {path} as {who}: {status}, not 401")
        for scope in SCOPE_KEYS:
            allowed = need == ANY_KEY or need in GRANTS[scope]
            status = call(app, method, path, f"Bearer {app.keys[scope]}").status_code
            if allowed and status in (401, 403):
                wrong.append(f"{method} {path} as {scope}: {status}, should pass auth")
            if not allowed and status != 403:
                wrong.append(f"{method} {path} as {scope}: {status}, not 403")
    assert wrong == [], "\n".join(wrong)
    after = app.http.get("/api/v1/state", headers=app.auth("admin")).json()
    keys_after = app.http.get("/api/v1/keys", headers=app.auth("admin")).json()
    assert after == before
    assert [k["id"] for k in keys_after["keys"]] == [k["id"] for k in keys_before["keys"]]


OPEN_PAGES = {"/login", "/favicon.ico"}  # what a visitor must reach before logging in


def ui_pages() -> list[str]:
    return [
        url_of(route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods and route.path not in OPEN_PAGES
    ]


def session_cookie(app: App, who: str) -> str:
    login = app.http.post(
        "/login", data={"key": app.keys[who], "next": "/"}, follow_redirects=False
    )
    assert login.status_code == 303, login.text
    cookie = login.cookies["promptrail_session"]
    app.http.cookies.clear()  # each request below names its caller itself
    return f"promptrail_session={cookie}"


def expired_copy(app: App, cookie: str) -> str:
    """The same session signed as if it had been made a day past a login's lifetime."""
    from promptrail.server.ui.auth import MAX_AGE, SALT
    from promptrail.store import Store
    from promptrail.store.ui_queries import cookie_secret

    store = Store.open(app.db_url)
    try:
        signer = URLSafeTimedSerializer(cookie_secret(store.engine), salt=SALT)
    finally:
        store.close()
    session = signer.loads(cookie.removeprefix("promptrail_session="))
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - MAX_AGE - 86400):
        return f"promptrail_session={signer.dumps(session)}"


def test_every_page_asks_for_a_login_and_a_key_that_may_read(matrix_app: App) -> None:
    app = matrix_app
    pages = ui_pages()
    assert "/" in pages
    assert "/traces" in pages
    reader = session_cookie(app, "read")
    ingest_only = app.http.post("/login", data={"key": app.keys["ingest"]})
    assert ingest_only.status_code == 401
    assert "promptrail_session" not in ingest_only.cookies
    revoked_later = session_cookie(app, "publish")
    app.http.delete(
        f"/api/v1/keys/{app.key_ids['publish']}", headers=app.auth("admin")
    ).raise_for_status()
    logged_out = session_cookie(app, "deploy")
    app.http.post("/logout", headers={"cookie": logged_out}, follow_redirects=False)
    app.http.cookies.clear()
    callers = {
        "no cookie": None,
        "logged-out session": logged_out,
        "expired session": expired_copy(app, reader),
        "forged cookie": "promptrail_session=eyJrIjoxLCJzIjoieCJ9.forged.signature",
        "revoked key's cookie": revoked_later,
    }
    wrong: list[str] = []
    for page in pages:
        for who, cookie in callers.items():
            headers = {} if cookie is None else {"cookie": cookie}
            answer = app.http.get(page, headers=headers, follow_redirects=False)
            if answer.status_code != 303 or not answer.headers["location"].startswith("/login"):
                wrong.append(f"{page} with {who}: {answer.status_code}, not 303 to /login")
        shown = app.http.get(page, headers={"cookie": reader}, follow_redirects=False)
        if shown.status_code not in (200, 404):
            wrong.append(f"{page} with a read key: {shown.status_code}, not 200 or 404")
    assert wrong == [], "\n".join(wrong)
