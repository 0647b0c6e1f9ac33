"""The web UI with auth on: a key asked for once, kept in a signed HttpOnly cookie, and
what the page lets you do follows the key's scopes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from promptrail.store import Store, migrate
from serverproc import ServerProcess

from .conftest import shoot
from .seed import Seeded, publish_prompts, record_traces

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser


@dataclass
class Site:
    url: str
    db_url: str
    seeded: Seeded
    keys: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("ui-auth")
    db_url = f"sqlite:///{folder / 'registry.db'}"
    store = Store.open(db_url)
    migrate.upgrade(store.engine)
    keys = {
        name: store.create_key(scopes, f"ui test: {name}").key
        for name, scopes in (
            ("admin", ["admin"]),
            ("read", ["read"]),
            ("annotator", ["read", "ingest"]),
            ("ingest", ["ingest"]),
            ("revoked", ["read"]),
        )
    }
    store.close()
    with ServerProcess(db_url, auth=True, log_path=folder / "server.log") as server:
        publish_prompts(server.url, keys["admin"])
        seeded = record_traces(server.url, keys["admin"])
        yield Site(server.url, db_url, seeded, keys)


def log_in(page, site: Site, key: str, path: str = "/") -> None:
    page.goto(site.url + path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=key]", site.keys[key])
    page.get_by_role("button", name="Log in").click()


def test_the_ui_asks_for_a_key_once_and_keeps_a_safe_cookie(page, site: Site) -> None:
    page.goto(site.url + "/traces?user=alice")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ftraces%3Fuser%3Dalice$"))
    expect(page.locator("nav")).to_have_count(0)  # nothing is shown before logging in
    shoot(page, "login")
    page.fill("input[name=key]", "prk_not-a-key-of-this-registry")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".error-text")).to_contain_text("does not know that key")

    page.fill("input[name=key]", site.keys["read"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/traces\?user=alice$"))  # back where we asked
    expect(page.locator("table.traces tbody tr")).to_have_count(2)
    expect(page.locator(".who")).to_contain_text("read")

    cookie = next(c for c in page.context.cookies() if c["name"] == "promptrail_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert site.keys["read"] not in cookie["value"]  # the key itself never leaves the form
    for path in ("/", "/prompts/support/triage", "/sessions", "/users"):
        response = page.goto(site.url + path)
        assert response is not None
        assert response.status == 200, path
        expect(page).not_to_have_url(re.compile("/login"))

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile("/login$"))
    page.goto(site.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_a_read_only_key_cannot_annotate(page, site: Site) -> None:
    trace_id = site.seeded.trace_ids["alice"]
    log_in(page, site, "read", f"/traces/{trace_id}")
    expect(page.locator("details.obs")).to_have_count(5)
    expect(page.locator("form.annotate")).to_have_count(0)
    expect(page.locator("#annotate-denied")).to_contain_text("ingest")
    shoot(page, "trace-read-only")

    # Posting the form anyway (as a script in the page would) is refused with a 403 page.
    response = page.request.post(
        f"{site.url}/traces/{trace_id}/scores",
        form={"name": "sneaky", "value": "1", "data_type": "numeric"},
    )
    assert response.status == 403
    assert "needs a key with the `ingest` scope" in response.text()
    page.reload()
    expect(page.locator("table.scores")).to_have_count(0)


def test_a_key_with_ingest_annotates(page, site: Site) -> None:
    trace_id = site.seeded.trace_ids["bob"]
    log_in(page, site, "annotator", f"/traces/{trace_id}")
    form = page.locator("form.annotate")
    form.locator("input[name=name]").fill("quality")
    form.locator("input[name=value]").fill("0.75")
    form.get_by_role("button", name="Add score").click()
    row = page.locator("table.scores tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".score-value")).to_have_text("0.75")


def test_a_form_posted_from_another_site_is_refused(site: Site) -> None:
    with httpx.Client(base_url=site.url) as http:
        login = http.post("/login", data={"key": site.keys["annotator"], "next": "/"})
        assert login.status_code == 303
        trace_id = site.seeded.trace_ids["alice"]
        forged = http.post(
            f"/traces/{trace_id}/scores",
            data={"name": "forged", "value": "1", "data_type": "numeric"},
            headers={"origin": "https://evil.example"},
        )
    assert forged.status_code == 403
    assert "sent from another site" in forged.text


def test_keys_that_cannot_read_or_were_revoked_are_turned_away(page, site: Site) -> None:
    log_in(page, site, "ingest")
    expect(page.locator(".error-text")).to_contain_text("needs one with `read`")

    page.fill("input[name=key]", site.keys["revoked"])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#total-traces")).to_be_visible()
    store = Store.open(site.db_url)
    key_id = next(k.id for k in store.list_keys() if k.description == "ui test: revoked")
    store.revoke_key(key_id)
    store.close()
    page.goto(site.url + "/traces")
    expect(page).to_have_url(re.compile(r"/login\?"))
    expect(page.locator(".notice")).to_contain_text("revoked")


def test_the_api_still_answers_json_with_auth_on(site: Site) -> None:
    response = httpx.get(site.url + "/api/v1/traces")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    page = httpx.get(site.url + "/traces", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Ftraces"
