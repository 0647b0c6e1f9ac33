"""Trace every Messages API call of an `anthropic.Anthropic` or `AsyncAnthropic` client as a
generation.

    from promptrail.integrations.anthropic import trace_anthropic
    client = trace_anthropic(Anthropic())
    client.messages.create(model=..., max_tokens=..., messages=prompt.compile(...),
                           promptrail_prompt=prompt)

`messages.create` (with `stream=True` too) and the `messages.stream(...)` helper record
the model, parameters, system prompt and messages, the reply (text and tool calls), token
usage (cache reads count as cached input tokens), latency and, for streams, the time to
the first token. `promptrail_prompt=` links the generation to the prompt version and
`promptrail_name=` names it (default `anthropic.messages`); both are removed before the
request. The `anthropic` package is never imported here.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, TypeVar

from promptrail.integrations._calls import (
    Ending,
    Obs,
    as_plain,
    async_call,
    fail,
    start_generation,
    sync_call,
)
from promptrail.tracing.tracer import Tracer

C = TypeVar("C")
_NOT_PARAMETERS = {
    "messages",
    "system",
    "model",
    "stream",
    "tools",
    "extra_headers",
    "extra_query",
    "extra_body",
    "timeout",
}
_MARK = "_promptrail_traced"


def trace_anthropic(client: C, *, tracer: Tracer | None = None) -> C:
    """Patch this client's `messages.create` and `messages.stream` in place; returns it."""
    messages = client.messages  # type: ignore[attr-defined]
    if getattr(messages, _MARK, False):
        return client
    kind = _Messages(tracer)
    is_async = type(messages).__name__.startswith("Async")
    create = messages.create
    wrap = async_call if is_async or inspect.iscoroutinefunction(create) else sync_call
    messages.create = wrap(create, kind.start, kind.finish, kind.collector, kind.whole)
    if getattr(messages, "stream", None) is not None:
        messages.stream = _stream_helper(messages.stream, kind, is_async)
    setattr(messages, _MARK, True)
    return client


class _Messages:
    def __init__(self, tracer: Tracer | None) -> None:
        self.tracer = tracer

    def start(self, kwargs: dict[str, Any]) -> Obs:
        messages = kwargs.get("messages")
        input_: Any = messages
        if kwargs.get("system") or kwargs.get("tools"):
            input_ = {"system": kwargs.get("system"), "messages": messages}
            if kwargs.get("tools"):
                input_["tools"] = kwargs["tools"]
        return start_generation(
            self.tracer, kwargs, "anthropic.messages", skip=_NOT_PARAMETERS, input=input_
        )

    @staticmethod
    def whole(response: Any) -> bool:
        return hasattr(response, "content") and hasattr(response, "stop_reason")

    @staticmethod
    def finish(obs: Obs, message: Any) -> None:
        obs.update(
            model=getattr(message, "model", None) or getattr(obs, "model", None),
            usage=getattr(message, "usage", None),
            output=_output([as_plain(block) for block in getattr(message, "content", None) or []]),
        )

    @staticmethod
    def collector(obs: Obs) -> MessagesCollector:
        return MessagesCollector(obs)


def _output(blocks: list[Any]) -> Any:
    """One text block: {role, content}; tool use too: the text and the tool calls."""
    text = "".join(
        b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"
    )
    calls = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
    out: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        out["tool_calls"] = calls
    return out


class MessagesCollector(Ending):
    """Follows the streaming events: text and tool-input deltas, usage from
    `message_start` (input) and `message_delta` (output)."""

    def __init__(self, obs: Obs):
        super().__init__(obs)
        self.blocks: dict[int, dict[str, Any]] = {}
        self.usage: dict[str, Any] = {}
        self.model: str | None = None

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "message_start":
            message = event.message
            self.model = getattr(message, "model", None)
            self.usage.update(as_plain(getattr(message, "usage", None)) or {})
        elif kind == "content_block_start":
            self.blocks[event.index] = dict(as_plain(event.content_block) or {})
        elif kind == "content_block_delta":
            self.first_token()
            block = self.blocks.setdefault(event.index, {"type": "text", "text": ""})
            delta = event.delta
            if getattr(delta, "type", "") == "text_delta":
                block["text"] = block.get("text", "") + delta.text
            elif getattr(delta, "type", "") == "input_json_delta":
                block["partial_json"] = block.get("partial_json", "") + delta.partial_json
        elif kind == "message_delta":
            usage = as_plain(getattr(event, "usage", None)) or {}
            self.usage.update({k: v for k, v in usage.items() if v is not None})

    def fields(self) -> dict[str, Any]:
        blocks = [self.blocks[i] for i in sorted(self.blocks)]
        return {"output": _output(blocks), "usage": self.usage or None, "model": self.model}


def _stream_helper(original: Any, kind: _Messages, is_async: bool) -> Any:
    """`messages.stream(...)` returns a manager; the generation ends when it is exited,
    with the message as far as it was read."""

    @functools.wraps(original)
    def stream(*args: Any, **kwargs: Any) -> Any:
        obs = kind.start(kwargs)
        try:
            manager = original(*args, **kwargs)
        except BaseException as exc:
            fail(obs, exc)
            raise
        return _AsyncManager(manager, obs) if is_async else _Manager(manager, obs)

    return stream


class _Manager:
    def __init__(self, manager: Any, obs: Obs) -> None:
        self._manager, self._obs, self._stream = manager, obs, None

    def _end(self, exc: BaseException | None) -> None:
        snapshot = getattr(self._stream, "current_message_snapshot", None)
        try:
            if snapshot is not None:
                _Messages.finish(self._obs, snapshot)
        finally:
            if exc is not None:
                self._obs.record_exception(exc)
            self._obs.end()

    def __enter__(self) -> Any:
        self._stream = self._manager.__enter__()
        return self._stream

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            self._end(exc)
        finally:
            result = self._manager.__exit__(kind, exc, tb)
        return result


class _AsyncManager(_Manager):
    async def __aenter__(self) -> Any:
        self._stream = await self._manager.__aenter__()
        return self._stream

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            self._end(exc)
        finally:
            result = await self._manager.__aexit__(kind, exc, tb)
        return result
