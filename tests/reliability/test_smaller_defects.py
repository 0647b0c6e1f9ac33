"""Look-alike protected labels, key material in database error logs, and rate limits."""

from __future__ import annotations

import pytest

from kit import request, text_version
from reliability.conftest import App, running_app


@pytest.mark.parametrize("label", ["production.", "pr-production", "prod-uction", "production_"])
def test_labels_that_pass_for_protected_ones_are_refused(app: App, label: str) -> None:
    body = request([text_version("look/alike", 1, "hi")], [("look/alike", label, 1, None)])
    answer = app.http.post(
        "/api/v1/publish", json=body.model_dump(mode="json"), headers=app.auth("publish")
    )
    assert answer.status_code == 400, answer.text
    assert f"label {label!r}" in answer.json()["message"]
    assert "looks like the protected label 'production'" in answer.json()["message"]
    listed = app.http.get("/api/v1/prompts", headers=app.auth("read")).json()["prompts"]
    assert listed == []


@pytest.mark.postgres
def test_database_errors_never_carry_the_values_of_a_statement() -> None:
    from sqlalchemy import select
    from sqlalchemy.exc import DBAPIError

    from conftest import fresh_postgres_database
    from promptrail.store import Store, migrate
    from promptrail.store.tables import api_keys

    with fresh_postgres_database() as url:
        store = Store.open(url)
        try:
            migrate.upgrade(store.engine)
            with store.engine.connect() as conn, pytest.raises(DBAPIError) as failed:
                # PostgreSQL refuses the NUL; the value stands for a key hash or a secret.
                conn.execute(select(api_keys).where(api_keys.c.hash == "prk_secret\x00x"))
            shown = str(failed.value)  # what a log line of the error would show
            del failed  # its traceback holds the driver's connection
        finally:
            store.close()
    assert "prk_secret" not in shown


def test_wrong_keys_are_limited_per_address(backend: str) -> None:
    with running_app(backend, auth_failure_limit=3) as app:
        wrong = {"authorization": "Bearer prk_wrongwrongwrongwrong"}
        for _ in range(3):
            assert app.http.get("/api/v1/prompts", headers=wrong).status_code == 401
        refused = app.http.get("/api/v1/prompts", headers=wrong)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["error"] == "rate_limited"
        page = app.http.post("/login", data={"key": "prk_wrong"}, follow_redirects=False)
        assert page.status_code == 429


def test_ingest_is_limited_per_key(backend: str) -> None:
    with running_app(backend, ingest_limit=2) as app:
        for _ in range(2):
            ok = app.http.post("/api/v1/ingest", json={"batch": []}, headers=app.auth("ingest"))
            assert ok.status_code == 200
        over = app.http.post("/api/v1/ingest", json={"batch": []}, headers=app.auth("ingest"))
        assert over.status_code == 429
        assert "retry-after" in over.headers
