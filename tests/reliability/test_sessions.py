"""Logging out, or revoking the key, ends a web UI session on the server, cookie or not."""

from __future__ import annotations

from starlette.testclient import TestClient

from reliability.conftest import App

COOKIE = "promptrail_session"


def login(app: App, who: str) -> str:
    answer = app.http.post("/login", data={"key": app.keys[who]}, follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.cookies[COOKIE])


def opens(app: App, cookie: str) -> bool:
    browser = TestClient(app.http.app, base_url="http://127.0.0.1", cookies={COOKIE: cookie})
    return browser.get("/prompts", follow_redirects=False).status_code == 200


def test_a_logged_out_cookie_no_longer_opens_pages(app: App) -> None:
    kept = login(app, "read")  # another browser, same key
    stolen = login(app, "read")
    assert opens(app, stolen)
    app.http.cookies.set(COOKIE, stolen)
    assert app.http.post("/logout", follow_redirects=False).status_code == 303
    assert not opens(app, stolen)
    assert opens(app, kept)  # only that session ended


def test_revoking_the_key_ends_its_sessions(app: App) -> None:
    cookie = login(app, "publish")
    assert opens(app, cookie)
    revoked = app.http.delete(f"/api/v1/keys/{app.key_ids['publish']}", headers=app.auth("admin"))
    assert revoked.status_code == 200
    assert not opens(app, cookie)
