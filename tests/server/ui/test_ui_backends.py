"""Every page answers on SQLite and on PostgreSQL (the browser tests run on SQLite only)."""

from __future__ import annotations

import sqlite3

import httpx

from appserver import AppServer
from serverproc import ServerProcess

from .seed import publish_prompts, record_traces


def test_every_page_renders_on_both_databases(db_url: str, tmp_path) -> None:
    with AppServer(db_url) as server:
        publish_prompts(server.url)
        seeded = record_traces(server.url)
        trace = seeded.trace_ids["bob"]
        pages = {
            "/": "support/triage v3",
            "/?days=1": "alice",
            "/prompts": "production <b>v2</b>",
            "/prompts/support/triage": "v2 → v3",
            "/prompts/support/triage?old=1&new=3&version=1&preview=1&var.product=X": "+language",
            "/prompts/customer-email?preview=1&var.customer_name=Ada&var.topic=tea": "Dear Ada",
            "/traces": "handle-ticket",
            "/traces?user=bob&q=ticket&prompt=support/triage&version=3&tag=support": trace,
            "/traces?errors=1": "No trace matches",
            f"/traces/{trace}": "gpt-4o-mini",
            "/sessions": "chat-bob",
            "/sessions/chat-bob": "(bob, message 2)",
            "/users?days=7&sort=tokens": "bob",
        }
        with server.http() as http:
            for path, text in pages.items():
                response = http.get(path)
                assert response.status_code == 200, (path, response.text[:500])
                assert text in response.text, path
            score = http.post(
                f"/traces/{trace}/scores",
                data={"name": "ok", "value": "good", "data_type": "categorical"},
            )
            assert score.status_code == 303
            assert ">good<" in http.get(f"/traces/{trace}").text


def test_a_database_failure_is_a_page_that_says_so(tmp_path) -> None:
    db = tmp_path / "registry.db"
    with ServerProcess(f"sqlite:///{db}", log_path=tmp_path / "server.log") as server:
        with sqlite3.connect(db) as conn:  # the table disappears under the running server
            conn.execute("ALTER TABLE traces RENAME TO traces_gone")
        page = httpx.get(server.url + "/traces")
        api = httpx.get(server.url + "/api/v1/traces")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "database is unreachable or busy" in page.text
    assert "Traceback" not in page.text
    assert 'href="/traces"' in page.text  # the menu is there, to go elsewhere
    assert api.status_code == 503
    assert api.json()["error"] == "unavailable"
