"""Trace every chat completion and Responses API call of an `openai.OpenAI` or `AsyncOpenAI`
client as a generation.

    from promptrail.integrations.openai import trace_openai
    client = trace_openai(OpenAI())
    prompt = promptrail.Client().get_prompt("support/reply")
    client.chat.completions.create(model=..., messages=prompt.compile(...),
                                   promptrail_prompt=prompt)
    client.responses.create(model=..., input=..., promptrail_prompt=prompt)

`chat.completions.create` (streaming included), `chat.completions.parse` and
`responses.create` (streaming included) record the model (as the API reports it),
parameters, messages, output, token usage (cached and reasoning tokens too), latency and,
for streams, the time to the first token. The `promptrail_prompt=` argument links the
generation to the prompt version and is removed before the request; `promptrail_name=`
names the generation (default `openai.chat`, `openai.responses`). The generation nests
under the current span, like any other.

A stream is recorded as it is consumed and ends when it is exhausted or closed. OpenAI
sends usage on a chat stream only with `stream_options={"include_usage": True}`; pass
`stream_usage=True` to `trace_openai` to have it added to every streamed request (the
stream then ends with a chunk whose `choices` is empty, which your code must tolerate).
A Responses stream always ends with the whole response, usage included.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from promptrail.integrations._calls import (
    Ending,
    Obs,
    as_plain,
    async_call,
    start_generation,
    sync_call,
)
from promptrail.tracing.tracer import Tracer

C = TypeVar("C")
_NOT_PARAMETERS = {
    "messages",
    "input",
    "instructions",
    "model",
    "stream",
    "stream_options",
    "extra_headers",
    "extra_query",
    "extra_body",
    "timeout",
    "tools",
    "functions",
}
_MARK = "_promptrail_traced"


def trace_openai(client: C, *, tracer: Tracer | None = None, stream_usage: bool = False) -> C:
    """Patch this client's `chat.completions` (create and parse) and `responses.create` in
    place; returns it. A client derived later with `with_options(...)` is a new object:
    trace it too."""
    chat = ChatCalls(tracer, stream_usage)
    _patch(client.chat.completions, ("create", "parse"), chat)  # type: ignore[attr-defined]
    responses = getattr(client, "responses", None)
    if responses is not None:
        _patch(responses, ("create",), _Responses(tracer))
    return client


def _patch(resource: Any, methods: tuple[str, ...], kind: Any) -> None:
    if getattr(resource, _MARK, False):
        return
    # AsyncCompletions.create is wrapped by openai in a plain function returning a coroutine.
    is_async = type(resource).__name__.startswith("Async")
    for method in methods:
        original = getattr(resource, method, None)
        if original is None:
            continue
        wrap = async_call if is_async or inspect.iscoroutinefunction(original) else sync_call
        setattr(
            resource, method, wrap(original, kind.start, kind.finish, kind.collector, kind.whole)
        )
    setattr(resource, _MARK, True)


# -- chat completions ---------------------------------------------------------------------


class ChatCalls:
    """Chat completions: what is recorded of a call, a response and a stream of chunks."""

    name = "openai.chat"
    skip = _NOT_PARAMETERS

    def __init__(self, tracer: Tracer | None, stream_usage: bool = False) -> None:
        self.tracer = tracer
        self.stream_usage = stream_usage

    def start(self, kwargs: dict[str, Any]) -> Obs:
        if self.stream_usage and kwargs.get("stream"):
            options = dict(kwargs.get("stream_options") or {})
            options.setdefault("include_usage", True)
            kwargs["stream_options"] = options
        messages = kwargs.get("messages")
        tools = kwargs.get("tools") or kwargs.get("functions")
        input_ = {"messages": messages, "tools": tools} if tools else messages
        return start_generation(self.tracer, kwargs, self.name, skip=self.skip, input=input_)

    @staticmethod
    def whole(response: Any) -> bool:
        return hasattr(response, "choices")

    @staticmethod
    def finish(obs: Obs, response: Any) -> None:
        finish_chat(obs, response)

    @staticmethod
    def collector(obs: Obs) -> ChatCollector:
        return ChatCollector(obs)


def finish_chat(obs: Obs, response: Any) -> None:
    """Record a whole chat completion (OpenAI's, or LiteLLM's of the same shape)."""
    choices = getattr(response, "choices", None) or []
    outputs = [_message(choice) for choice in choices]
    obs.update(
        model=getattr(response, "model", None) or getattr(obs, "model", None),
        usage=getattr(response, "usage", None),
        output=outputs[0] if len(outputs) == 1 else outputs,
    )


def _message(choice: Any) -> Any:
    message = getattr(choice, "message", None)
    if message is None:
        return None
    out: dict[str, Any] = {"role": getattr(message, "role", "assistant")}
    out["content"] = getattr(message, "content", None)
    for key in ("tool_calls", "refusal", "parsed"):
        value = getattr(message, key, None)
        if value:
            out[key] = value
    return out


class ChatCollector(Ending):
    """Rebuilds the reply from chat stream chunks: content, tool calls, usage, first token."""

    def __init__(self, obs: Obs):
        super().__init__(obs)
        self.content: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.usage: Any = None
        self.model: str | None = None

    def add(self, chunk: Any) -> None:
        self.model = getattr(chunk, "model", None) or self.model
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) != 0:
                continue
            delta = choice.delta
            text = getattr(delta, "content", None)
            calls = getattr(delta, "tool_calls", None)
            if text or calls:
                self.first_token()
            if text:
                self.content.append(text)
            for call in calls or []:
                slot = self.tool_calls.setdefault(
                    call.index, {"id": None, "type": "function", "name": "", "arguments": ""}
                )
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""

    def fields(self) -> dict[str, Any]:
        output: dict[str, Any] = {"role": "assistant", "content": "".join(self.content)}
        if self.tool_calls:
            output["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        return {"output": output, "usage": self.usage, "model": self.model}


# -- the Responses API --------------------------------------------------------------------


class _Responses:
    def __init__(self, tracer: Tracer | None) -> None:
        self.tracer = tracer

    def start(self, kwargs: dict[str, Any]) -> Obs:
        input_: Any = kwargs.get("input")
        if kwargs.get("instructions") or kwargs.get("tools"):
            input_ = {"instructions": kwargs.get("instructions"), "input": input_}
            if kwargs.get("tools"):
                input_["tools"] = kwargs["tools"]
        return start_generation(
            self.tracer, kwargs, "openai.responses", skip=_NOT_PARAMETERS, input=input_
        )

    @staticmethod
    def whole(response: Any) -> bool:
        return hasattr(response, "output")

    @staticmethod
    def finish(obs: Obs, response: Any) -> None:
        obs.update(**_response_fields(response, getattr(obs, "model", None)))

    @staticmethod
    def collector(obs: Obs) -> ResponsesCollector:
        return ResponsesCollector(obs)


def _response_fields(response: Any, model: Any) -> dict[str, Any]:
    output: Any = getattr(response, "output_text", None)
    items = getattr(response, "output", None) or []
    calls = [as_plain(item) for item in items if getattr(item, "type", None) == "function_call"]
    if calls:
        output = {"text": output, "tool_calls": calls}
    fields = {
        "model": getattr(response, "model", None) or model,
        "usage": getattr(response, "usage", None),
        "output": output,
    }
    if getattr(response, "status", None) in ("failed", "incomplete"):
        error = getattr(response, "error", None) or getattr(response, "incomplete_details", None)
        fields |= {"level": "WARNING", "status_message": str(error)[:1000]}
    return {k: v for k, v in fields.items() if v is not None}


class ResponsesCollector(Ending):
    """Follows Responses stream events: text deltas for the first token, then the whole
    response in `response.completed` (or `failed` / `incomplete`)."""

    def __init__(self, obs: Obs):
        super().__init__(obs)
        self.text: list[str] = []
        self.response: Any = None

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            self.first_token()
            self.text.append(getattr(event, "delta", "") or "")
        elif kind in ("response.completed", "response.failed", "response.incomplete"):
            self.response = getattr(event, "response", None)

    def fields(self) -> dict[str, Any]:
        if self.response is not None:
            return _response_fields(self.response, None)
        return {"output": "".join(self.text)}
