"""The OpenAPI document and the server's behaviour agree on what they found differing."""

from __future__ import annotations

import re

from reliability.conftest import App


def test_a_refused_method_lists_every_method_the_path_has(app: App) -> None:
    for path, methods in (("/api/v1/keys", {"GET", "POST"}), ("/api/v1/prompts/a", {"GET"})):
        answer = app.http.options(path, headers=app.auth("admin"))
        assert answer.status_code == 405
        assert methods <= set(answer.headers["allow"].replace(" ", "").split(",")), answer.headers
    documented = app.http.get("/openapi.json").json()["paths"]["/api/v1/keys"]
    assert {m.upper() for m in documented} == {"GET", "POST"}


def test_an_empty_label_is_outside_the_schema_and_refused(app: App) -> None:
    operation = app.http.get("/openapi.json").json()["paths"]["/api/v1/prompts/{name}"]["get"]
    label = next(p for p in operation["parameters"] if p["name"] == "label")
    assert not re.search(label["schema"]["pattern"], "")
    assert app.http.get("/api/v1/prompts/a?label=", headers=app.auth("read")).status_code == 400


def test_a_number_is_not_a_date_time(app: App) -> None:
    for value in ("0.5", "1700000000", "-3"):
        answer = app.http.get(f"/api/v1/traces?to={value}", headers=app.auth("read"))
        assert answer.status_code == 422, (value, answer.text)
        assert "ISO 8601" in answer.json()["message"]
    ok = app.http.get("/api/v1/traces?to=2030-01-01T00:00:00Z", headers=app.auth("read"))
    assert ok.status_code == 200


def test_a_number_is_not_a_boolean(app: App) -> None:
    for value in (0, 1, "true"):
        answer = app.http.post(
            "/api/v1/publish", json={"dry_run": value}, headers=app.auth("publish")
        )
        assert answer.status_code == 422, (value, answer.text)
        assert "dry_run" in answer.json()["message"]
    assert (
        app.http.post(
            "/api/v1/publish", json={"dry_run": True}, headers=app.auth("publish")
        ).status_code
        == 200
    )


def test_every_integer_parameter_is_bounded_so_the_database_can_hold_it(app: App) -> None:
    # An unbounded integer reached SQLite as a number beyond 64 bits: a 500, not a 422.
    unbounded = []
    for path, operations in app.http.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                kinds = [schema, *schema.get("anyOf", [])]
                if any(k.get("type") == "integer" and "maximum" not in k for k in kinds):
                    unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    assert unbounded == []
    huge = "9" * 40
    for url in (f"/api/v1/runs?version={huge}", f"/api/v1/datasets/a?version={huge}"):
        answer = app.http.get(url, headers=app.auth("read"))
        assert answer.status_code == 422, (url, answer.text)
        assert "version" in answer.json()["message"]
