"""Prompt objects: compile, immutability, hashes that match the registry's, fallbacks."""

from __future__ import annotations

import json

import pytest

from promptrail.client import ChatPrompt, TextPrompt
from promptrail.client.prompts import fallback_prompt, prompt_from_data
from promptrail.errors import MissingVariable, TemplateError
from promptrail.repo.spec import content_hash

TEXT = {
    "name": "customer-email",
    "version": 3,
    "type": "text",
    "prompt": "Write a {{tone}} email to {{customer_name}} about {{topic}}.",
    "config": {"model": "gpt-4o", "temperature": 0.7},
    "labels": ["production"],
    "tags": ["email"],
    "hash": "h3",
}
CHAT = {
    "name": "support/triage",
    "version": 2,
    "type": "chat",
    "messages": [
        {"role": "system", "content": "You triage tickets for {{product}}."},
        {"role": "placeholder", "name": "history"},
        {"role": "user", "content": "{{ticket}}"},
    ],
    "config": {"model": "gpt-4o-mini"},
    "labels": ["production", "latest"],
    "tags": [],
    "hash": "h2",
}


def test_text_prompt_compiles_and_carries_what_a_trace_needs() -> None:
    prompt = prompt_from_data(TEXT, "registry", "production")
    assert isinstance(prompt, TextPrompt)
    assert prompt.compile(tone="warm", customer_name="Ann", topic="refunds") == (
        "Write a warm email to Ann about refunds."
    )
    assert (prompt.name, prompt.version, prompt.label, prompt.hash, prompt.source) == (
        "customer-email",
        3,
        "production",
        "h3",
        "registry",
    )
    assert prompt.labels == ("production",)
    assert prompt.variables == ("tone", "customer_name", "topic")
    assert prompt.prompt == TEXT["prompt"]


def test_missing_variable_is_named() -> None:
    prompt = prompt_from_data(TEXT, "registry", "production")
    with pytest.raises(MissingVariable, match=r"'topic'.*customer-email"):
        prompt.compile(tone="warm", customer_name="Ann")


def test_chat_prompt_fills_placeholders_from_message_lists() -> None:
    prompt = prompt_from_data(CHAT, "cache", "production")
    assert isinstance(prompt, ChatPrompt)
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert prompt.compile(product="Acme", ticket="refund?", history=history) == [
        {"role": "system", "content": "You triage tickets for Acme."},
        *history,
        {"role": "user", "content": "refund?"},
    ]
    assert prompt.variables == ("product", "ticket")
    assert prompt.placeholders == ("history",)
    with pytest.raises(MissingVariable, match="history"):
        prompt.compile(product="Acme", ticket="x")
    with pytest.raises(TemplateError, match="list of messages"):
        prompt.compile(product="Acme", ticket="x", history="not a list")


def test_prompts_are_immutable_but_still_plain_json() -> None:
    prompt = prompt_from_data(CHAT, "registry", None)
    with pytest.raises(AttributeError):
        prompt.version = 9  # type: ignore[misc]
    with pytest.raises(TypeError, match="read-only"):
        prompt.config["model"] = "other"
    with pytest.raises(TypeError):
        prompt.messages[0]["content"] = "changed"
    assert json.loads(json.dumps(prompt.config)) == {"model": "gpt-4o-mini"}
    assert {**prompt.config, "temperature": 0} == {"model": "gpt-4o-mini", "temperature": 0}
    assert prompt.to_dict() == CHAT
    assert prompt_from_data(TEXT, "cache", None).to_dict() == TEXT


@pytest.mark.parametrize("data", [TEXT, CHAT])
def test_hash_of_content_matches_the_registry_hash(data: dict) -> None:
    body = {k: v for k, v in data.items() if k != "hash"}
    prompt = prompt_from_data(body, "registry", None)
    content = {"type": data["type"], "config": data["config"]}
    content["messages" if data["type"] == "chat" else "prompt"] = data.get(
        "messages", data.get("prompt")
    )
    assert prompt.hash == content_hash(content)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({**TEXT, "version": "3"}, "version"),
        ({**TEXT, "prompt": None}, "string `prompt`"),
        ({**CHAT, "messages": [{"content": "x"}]}, "messages"),
        ({**TEXT, "type": "image"}, "unknown prompt type"),
    ],
)
def test_malformed_registry_data_is_refused(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prompt_from_data(data, "registry", None)


def test_fallbacks_become_prompts_without_a_version() -> None:
    text = fallback_prompt("greet", "Hello {{name}}", "production")
    assert (text.version, text.source, text.label) == (None, "fallback", "production")
    assert text.compile(name="Bo") == "Hello Bo"
    chat = fallback_prompt("greet", [{"role": "user", "content": "Hi {{name}}"}], None)
    assert isinstance(chat, ChatPrompt)
    assert chat.compile(name="Bo") == [{"role": "user", "content": "Hi Bo"}]
    assert chat.hash == content_hash(
        {"type": "chat", "config": {}, "messages": [{"role": "user", "content": "Hi {{name}}"}]}
    )
    with pytest.raises(TypeError, match=r"string .* or a list"):
        fallback_prompt("greet", 42, None)
