"""`@observe`, generations with `prompt=` and the OpenAI wrapper's `langfuse_prompt=`: the
SDK sends OTLP to /api/public/otel/v1/traces; the traces read back through promptrail's
API and UI linked to the prompt version, with usage and cost."""

from __future__ import annotations

import time
from typing import Any

import httpx

from langfuse_compat.kit import LangfuseServer, run_sdk
from promptrail.testing.fake_openai import FakeOpenAI


def _trace(native: httpx.Client, trace_id: str, spans: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        found = native.get(f"/api/v1/traces/{trace_id}")
        if found.status_code == 200 and len(found.json()["observations"]) >= spans:
            return found.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, found.text[:500]
        time.sleep(0.05)


def test_observe_with_nested_generation_linked_to_the_prompt(
    server: LangfuseServer, native: httpx.Client, fake_llm: FakeOpenAI
) -> None:
    result = run_sdk(server, "observe_generation", fake_llm.url)
    assert result["output"] == "Tea: a drink."
    trace = _trace(native, result["trace_id"], 2)
    assert (trace["user_id"], trace["session_id"]) == ("ada", "sess-1")
    assert "langfuse" in trace["tags"]
    by_name = {o["name"]: o for o in trace["observations"]}
    generation = by_name["summarize-call"]
    assert generation["type"] == "generation"
    assert generation["parent_id"] == by_name["handle-request"]["id"]
    assert generation["prompt"]["name"] == "summarize"
    assert generation["prompt"]["version"] == 1
    assert generation["usage"]["input"] == 12
    assert generation["usage"]["output"] == 5
    assert generation["cost"]["total"] > 0
    with httpx.Client(base_url=server.url, timeout=10) as browser:  # the web UI
        login = browser.post("/login", data={"key": server.admin_key, "next": "/"})
        assert login.status_code == 303, login.text[:300]
        page = browser.get(f"/traces/{result['trace_id']}")
    assert page.status_code == 200
    assert "summarize-call" in page.text
    assert 'class="prompt-link"' in page.text
    assert ">summarize v1</a>" in page.text


def test_openai_wrapper_with_langfuse_prompt(
    server: LangfuseServer, native: httpx.Client, fake_llm: FakeOpenAI
) -> None:
    result = run_sdk(server, "openai_wrapper", fake_llm.url)
    assert result["reply"]
    trace = _trace(native, result["trace_id"], 2)
    generations = [o for o in trace["observations"] if o["type"] == "generation"]
    assert len(generations) == 1
    generation = generations[0]
    assert generation["prompt"]["name"] == "support/triage"
    assert generation["prompt"]["version"] == 1
    assert generation["model"].startswith("gpt-4o-mini")
    assert generation["usage"]["total"] > 0
    assert generation["cost"]["total"] > 0
    used = native.get("/api/v1/traces", params={"prompt_name": "support/triage"}).json()
    assert result["trace_id"] in [t["id"] for t in used["data"]]
