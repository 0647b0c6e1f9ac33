"""A local stand-in for Anthropic's Messages API, for tests and examples.

Enough of the real HTTP API for the official `anthropic` package to work against it
unchanged: `POST /v1/messages` answered with JSON, or with the Messages streaming events
(`message_start`, `content_block_delta`s, `message_delta` with the output tokens,
`message_stop`) when `stream: true`. The reply is the fake OpenAI server's, from the same
last user message (`system` is read but does not change it), with token usage. The model
name `fail` answers 400 and `overloaded` 529.
"""

from __future__ import annotations

import json
from typing import Any

from promptrail.testing.fake_openai import FakeOpenAI, _Handler, reply_for, tokens


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def message(body: dict[str, Any], reply: str) -> dict[str, Any]:
    messages = [
        {"role": m.get("role"), "content": _text(m.get("content"))}
        for m in body.get("messages") or []
    ]
    prompt_tokens = tokens(json.dumps(messages) + _text(body.get("system")))
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-sonnet-4",
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt_tokens,
            "output_tokens": tokens(reply),
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }


def events(body: dict[str, Any], reply: str) -> list[tuple[str, dict[str, Any]]]:
    whole = message(body, reply)
    usage = whole["usage"]
    start = {**whole, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    words = reply.split(" ")
    pieces = [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)]
    pieces[-1] = pieces[-1].rstrip(" ")
    out: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    out += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in pieces
    ]
    out += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return out


class _AnthropicHandler(_Handler):
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"type": "error", "error": {"type": "invalid_request_error"}})
            return
        if not self.path.rstrip("/").endswith("/v1/messages"):
            self._json(404, {"type": "error", "error": {"type": "not_found_error"}})
            return
        self.server.requests.append(body)
        model = body.get("model")
        if model in ("fail", "overloaded"):
            status, kind = (
                (400, "invalid_request_error") if model == "fail" else (529, "overloaded_error")
            )
            self._json(status, {"type": "error", "error": {"type": kind, "message": model}})
            return
        chat = {
            "messages": [
                {"role": m.get("role"), "content": _text(m.get("content"))}
                for m in body.get("messages") or []
            ]
        }
        reply = reply_for(chat)
        if body.get("stream"):
            self._stream(events(body, reply))
        else:
            self._json(200, message(body, reply))


class FakeAnthropic(FakeOpenAI):
    """`with FakeAnthropic() as fake: anthropic.Anthropic(base_url=fake.base_url, ...)`."""

    handler = _AnthropicHandler

    @property
    def base_url(self) -> str:
        """For `anthropic.Anthropic(base_url=...)` (the SDK adds /v1/messages)."""
        return self.url.removesuffix("/v1")
