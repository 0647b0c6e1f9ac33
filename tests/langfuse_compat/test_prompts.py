"""The official Langfuse SDK fetching prompts from a promptrail server, code unchanged."""

from __future__ import annotations

import httpx

from langfuse_compat.kit import LangfuseServer, run_sdk


def test_auth_check_passes(server: LangfuseServer) -> None:
    result = run_sdk(server, "auth")
    assert result["ok"] is True


def test_get_prompt_by_label_version_folder_and_chat(server: LangfuseServer) -> None:
    got = run_sdk(server, "prompts")
    assert got["production"] == [1, "Summarize: {{text}}", ["production"]]
    assert got["staging"] == [2, {}]
    assert got["first"] == [1, "Summarize: {{text}}", "summarize: version 1"]
    assert got["compiled_text"] == "Summarize: Tea is a drink."
    assert got["chat"] == [1, "support/triage", {"model": "gpt-4o-mini", "temperature": 0}]
    assert got["chat_compiled"] == [
        {"role": "system", "content": "You triage support tickets for Acme."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "It broke"},
    ]
    assert got["variables"] == ["product", "ticket"]
    # A missing label is the SDK's NotFoundError, as against Langfuse; never another version.
    assert got["missing_error"] == "NotFoundError"
    assert got["missing_prompt_error"] == "NotFoundError"
    assert got["fallback"] == [True, "Fallback x"]


def test_prompt_get_has_etag_304_and_cache_headers_like_the_native_route(
    api: httpx.Client,
) -> None:
    native = api.get("/api/v1/prompts/summarize")
    first = api.get("/api/public/v2/prompts/summarize")
    again = api.get("/api/public/v2/prompts/summarize")  # served from the cached bytes
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.headers["cache-control"] == native.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    assert (
        api.get("/api/public/v2/prompts/summarize", headers={"If-None-Match": etag}).status_code
        == 304
    )
    body = first.json()
    assert body["labels"] == ["production"]
    assert body["type"] == "text"


def test_folder_name_url_encoded_as_the_sdk_sends_it(api: httpx.Client) -> None:
    encoded = api.get("/api/public/v2/prompts/support%2Ftriage", params={"version": 1})
    assert encoded.status_code == 200
    body = encoded.json()
    assert body["name"] == "support/triage"
    assert body["prompt"][1] == {"type": "placeholder", "name": "history"}
    assert body["prompt"][0]["role"] == "system"


def test_missing_label_is_404_not_a_fallback(api: httpx.Client) -> None:
    missing = api.get("/api/public/v2/prompts/summarize", params={"label": "canary"})
    assert missing.status_code == 404
    assert "canary" in missing.json()["message"]


def test_list_prompts_filters_and_pages(api: httpx.Client) -> None:
    everything = api.get("/api/public/v2/prompts").json()
    assert [p["name"] for p in everything["data"]] == ["summarize", "support/triage"]
    summarize = everything["data"][0]
    assert summarize["versions"] == [1, 2]
    assert summarize["labels"] == ["latest", "production", "staging"]
    assert everything["meta"] == {"page": 1, "limit": 50, "totalItems": 2, "totalPages": 1}
    staged = api.get("/api/public/v2/prompts", params={"label": "staging"}).json()
    assert [(p["name"], p["versions"]) for p in staged["data"]] == [("summarize", [2])]
    second = api.get("/api/public/v2/prompts", params={"limit": 1, "page": 2}).json()
    assert [p["name"] for p in second["data"]] == ["support/triage"]
    assert second["meta"]["totalPages"] == 2
