"""No input makes a 500: each hostile value is a 4xx naming the field, on both databases,
and what was stored before is served unchanged afterwards."""

from __future__ import annotations

import json
from typing import Any

from kit import request, text_version
from promptrail.content import content_hash, content_of
from reliability.conftest import App
from reliability.test_ui_hardening import login

TRACE = "hostile-trace"


def seed(app: App) -> dict[str, Any]:
    """A prompt and a trace stored before the hostile requests; returns the prompt's body."""
    body = request(
        [text_version("safe/p", 1, "hello {{who}}")], [("safe/p", "production", 1, None)]
    )
    answer = app.http.post(
        "/api/v1/publish",
        content=body.model_dump_json(),
        headers={**app.auth("deploy"), "content-type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    ingest(app, [{"id": "e1", "type": "trace-create", "body": {"id": TRACE, "user_id": "ada"}}])
    score = {"trace_id": TRACE, "name": "quality", "value": 0.5}
    assert app.http.post("/api/v1/scores", json=score, headers=app.auth("ingest")).status_code < 300
    return app.http.get("/api/v1/prompts/safe/p", headers=app.auth("read")).json()


def ingest(app: App, events: list[dict[str, Any]]) -> Any:
    return app.http.post("/api/v1/ingest", json={"batch": events}, headers=app.auth("ingest"))


def refused(answer: Any, *names: str) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    message = answer.json()["message"]
    for name in names:
        assert name in message, (name, message)


def post_raw(app: App, path: str, text: str, who: str) -> Any:
    headers = {**app.auth(who), "content-type": "application/json"}
    return app.http.post(path, content=text.encode(), headers=headers)


def test_hostile_values_are_refused_naming_the_field(app: App) -> None:
    before = seed(app)
    read = app.auth("read")

    # Integers beyond 64 bits in a query.
    huge = "9" * 30
    refused(app.http.get(f"/api/v1/traces?prompt_version={huge}", headers=read), "prompt_version")
    refused(app.http.get(f"/api/v1/prompts/safe/p?version={huge}", headers=read), "version")
    publish = request([text_version("safe/q", 1, "x")]).model_dump(mode="json")
    publish["versions"][0]["version"] = 2**70
    refused(app.http.post("/api/v1/publish", json=publish, headers=app.auth("publish")), "version")

    # NUL characters, anywhere a string goes.
    nul = request([text_version("safe/n", 1, "a\x00b")]).model_dump(mode="json")
    refused(
        app.http.post("/api/v1/publish", json=nul, headers=app.auth("publish")), "prompt", "NUL"
    )
    author = request([text_version("safe/n", 1, "ab")]).model_dump(mode="json")
    author["source"]["author"] = "Ada\x00"
    refused(app.http.post("/api/v1/publish", json=author, headers=app.auth("publish")), "author")
    key = {"scopes": ["read"], "description": "ci\x00key"}
    refused(app.http.post("/api/v1/keys", json=key, headers=app.auth("admin")), "description")
    price = {"model": "m", "match_pattern": "m\x00", "input_price": 1e-6, "output_price": 1e-6}
    refused(
        app.http.post("/api/v1/model-prices", json=price, headers=app.auth("admin")),
        "match_pattern",
    )
    score = {"trace_id": TRACE, "name": "q", "value": "good\x00", "comment": "c"}
    refused(app.http.post("/api/v1/scores", json=score, headers=app.auth("ingest")), "value")
    for param in ("user_id", "session_id", "name", "tag", "prompt_name", "release", "environment"):
        answer = app.http.get(f"/api/v1/traces?{param}=a%00b", headers=read)
        refused(answer, param)
    refused(app.http.get("/api/v1/traces/a%00b", headers=read))  # no such trace, or unstorable
    refused(app.http.get("/api/v1/sessions/a%00b", headers=read))
    refused(app.http.get("/api/v1/scores?name=a%00", headers=read), "name")
    event = {"id": "e2", "type": "trace-create", "body": {"id": "t2", "input": {"q": "\x00"}}}
    answer = ingest(app, [event])
    assert answer.status_code == 207, answer.text
    assert "input.q" in answer.json()["errors"][0]["message"]

    # NaN and infinity in a config (JSON allows neither; Python's parser takes both).
    upload = text_version("safe/f", 1, "x").model_dump(mode="json")
    for literal in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps({"versions": [upload]}).replace(
            '"config": {}', f'"config": {{"t": {literal}}}'
        )
        refused(post_raw(app, "/api/v1/publish", text, "publish"), "config.t")

    # Scores so large their sums overflow.
    for value in (1e308, -1e308):
        big = {"trace_id": TRACE, "name": "quality", "value": value}
        refused(app.http.post("/api/v1/scores", json=big, headers=app.auth("ingest")), "value")
    text = json.dumps(
        {
            "batch": [
                {
                    "id": "e3",
                    "type": "score-create",
                    "body": {"trace_id": TRACE, "name": "quality", "value": 1},
                }
            ]
        }
    ).replace('"value": 1', '"value": 1e308')
    assert "value" in post_raw(app, "/api/v1/ingest", text, "ingest").json()["errors"][0]["message"]
    usage = {"id": "o1", "trace_id": TRACE, "type": "generation", "usage": {"input": 2**70}}
    answer = ingest(app, [{"id": "e4", "type": "observation-create", "body": usage}])
    assert "usage.input" in answer.json()["errors"][0]["message"], answer.text

    # JSON nested deeper than anyone reads.
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    text = (
        '{"batch": [{"id": "e5", "type": "trace-create", "body": {"id": "t5", "metadata": '
        + deep
        + "}}]}"
    )
    assert post_raw(app, "/api/v1/ingest", text, "ingest").status_code < 500
    nested = '{"a":' * 150 + "1" + "}" * 150
    text = (
        '{"batch": [{"id": "e6", "type": "trace-create", "body": {"id": "t6", "metadata": '
        + nested
        + "}}]}"
    )
    answer = post_raw(app, "/api/v1/ingest", text, "ingest")
    assert "nested" in answer.json()["errors"][0]["message"], answer.text

    # Nothing stored before was touched, and the pages that sum scores still answer.
    assert app.http.get("/api/v1/prompts/safe/p", headers=read).json() == before
    assert before["hash"] == content_hash(
        content_of("text", before["prompt"], None, before["config"])
    )
    assert app.http.get("/api/v1/metrics?group_by=user&unit=scores", headers=read).status_code < 500
    app.http.post("/login", data={"key": app.keys["read"], "next": "/"})
    for page in (
        "/users",
        "/",
        "/traces?version=%C2%B2",
        "/users?days=%C2%B2&page=%C2%B2",
        "/sessions?page=%C2%B2",
        "/prompts/safe/p?version=%C2%B2",
        "/traces?user=a%00",
    ):
        assert app.http.get(page).status_code < 500, page


def test_times_at_the_edge_of_the_calendar_are_not_a_server_error(app: App) -> None:
    # 0001-01-01T00:00+00:01 is a minute before year 1 in UTC: converting it overflowed.
    edge, far = "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:00-00:01"
    for path, params in (
        ("/api/public/v2/prompts", {"fromUpdatedAt": edge, "toUpdatedAt": far}),
        ("/api/v1/traces", {"from": edge, "to": far}),
        ("/api/v1/observations", {"from": edge, "to": far}),
        ("/api/v1/metrics", {"from": edge, "to": far}),
    ):
        answer = app.http.get(path, params=params, headers=app.auth("read"))
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    login(app)
    page = app.http.get("/traces", params={"from": edge, "to": far})
    assert page.status_code == 200
