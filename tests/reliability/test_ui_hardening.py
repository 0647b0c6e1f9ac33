"""The web UI runs no injected script: only http(s) links, and headers that forbid the rest."""

from __future__ import annotations

import re

import pytest

from kit import request, text_version
from promptrail.api.registry import PublishRequest, PublishSource
from reliability.conftest import App

HOSTILE = "javascript:fetch('/api/v1/keys').then(r=>r.text()).then(alert)//"


def login(app: App, who: str = "read") -> None:
    answer = app.http.post(
        "/login", data={"key": app.keys[who], "next": "/"}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


@pytest.mark.parametrize("field", ["ci_run_url", "repository_url"])
def test_a_publish_with_a_script_url_is_refused_naming_the_field(app: App, field: str) -> None:
    body = request([text_version("xss/a", 1, "hi")]).model_dump(mode="json")
    body["source"][field] = HOSTILE
    answer = app.http.post("/api/v1/publish", json=body, headers=app.auth("publish"))
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["message"]
    assert "http" in answer.json()["message"]
    listed = app.http.get("/api/v1/prompts", headers=app.auth("read")).json()["prompts"]
    assert listed == []  # nothing stored


def test_script_urls_stored_before_the_check_are_never_links(app: App) -> None:
    from promptrail.store import Store

    # Written past the API's check, as a registry filled by an older version may hold them.
    unchecked = PublishRequest.model_construct(
        **request([text_version("xss/b", 1, "hi")], [("xss/b", "production", 1, None)]).__dict__
    )
    unchecked.source = PublishSource.model_construct(
        commit="c" * 40, ci_run_url=HOSTILE, repository_url=HOSTILE, ref="refs/heads/main"
    )
    store = Store.open(app.db_url)
    try:
        store.publish(unchecked)
    finally:
        store.close()
    login(app)
    page = app.http.get("/prompts/xss/b")
    assert page.status_code == 200
    hrefs = re.findall(r'href="([^"]*)"', page.text)
    assert not [h for h in hrefs if not h.startswith(("/", "#", "http://", "https://"))], hrefs
    assert "Edit in git" not in page.text


def test_every_page_forbids_inline_script_and_framing(app: App) -> None:
    login(app)
    for path in ("/login", "/", "/prompts", "/traces", "/static/ui.css", "/no/such/page"):
        answer = app.http.get(path)
        policy = answer.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, (path, policy)
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]
        assert "frame-ancestors 'none'" in policy
        assert answer.headers.get("x-frame-options") == "DENY", path
        assert answer.headers.get("x-content-type-options") == "nosniff", path
        assert answer.headers.get("referrer-policy"), path


def test_pages_carry_no_inline_script(app: App) -> None:
    login(app)
    for path in ("/login", "/", "/prompts", "/traces", "/sessions", "/users"):
        html = app.http.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # only <script src=...>
        assert not re.search(r"\son[a-z]+\s*=", html), path  # no onclick= and the like


def test_pages_have_a_favicon_and_browsers_asking_for_the_ico_find_it(app: App) -> None:
    page = app.http.get("/login")
    assert '<link rel="icon" href="/static/favicon.svg' in page.text
    icon = app.http.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
