"""Trace every chat completion of an `openai.OpenAI` or `AsyncOpenAI` client as a generation.

    from promptrail.integrations.openai import trace_openai
    client = trace_openai(OpenAI())
    prompt = promptrail.Client().get_prompt("support/reply")
    client.chat.completions.create(model=..., messages=prompt.compile(...),
                                   promptrail_prompt=prompt)

`chat.completions.create` (streaming included) and `chat.completions.parse` record the
model (as the API reports it), parameters, messages, output, token usage (cached and
reasoning tokens too), latency and, for streams, the time to the first token. The
`promptrail_prompt=` argument links the generation to the prompt version and is removed
before the request; `promptrail_name=` names the generation (default `openai.chat`).
The generation nests under the current span, like any other.

A stream is recorded as it is consumed and ends when it is exhausted or closed. OpenAI
sends usage on a stream only with `stream_options={"include_usage": True}`; pass
`stream_usage=True` to `trace_openai` to have it added to every streamed request (the
stream then ends with a chunk whose `choices` is empty, which your code must tolerate).
"""

from __future__ import annotations

import functools
import inspect
from time import time_ns
from typing import Any, TypeVar

from promptrail.tracing.observation import NoopObservation, Observation
from promptrail.tracing.tracer import Tracer, get_tracer

C = TypeVar("C")
_NOT_PARAMETERS = {
    "messages",
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
    """Patch this client's `chat.completions` (create and parse) in place; returns it.

    A client derived later with `with_options(...)` is a new object: trace it too.
    """
    completions = client.chat.completions  # type: ignore[attr-defined]
    if getattr(completions, _MARK, False):
        return client
    # AsyncCompletions.create is wrapped by openai in a plain function returning a coroutine.
    is_async = type(completions).__name__.startswith("Async")
    for method in ("create", "parse"):
        original = getattr(completions, method, None)
        if original is None:
            continue
        if is_async or inspect.iscoroutinefunction(original):
            wrapped = _async_method(original, tracer, stream_usage)
        else:
            wrapped = _sync_method(original, tracer, stream_usage)
        setattr(completions, method, wrapped)
    setattr(completions, _MARK, True)
    return client


# -- starting and finishing a generation ------------------------------------------------


def _start(
    tracer: Tracer | None, kwargs: dict[str, Any], stream_usage: bool
) -> Observation | NoopObservation:
    prompt = kwargs.pop("promptrail_prompt", None)
    name = kwargs.pop("promptrail_name", None) or "openai.chat"
    if stream_usage and kwargs.get("stream"):
        options = dict(kwargs.get("stream_options") or {})
        options.setdefault("include_usage", True)
        kwargs["stream_options"] = options
    try:
        parameters = {
            k: _plain(v) for k, v in kwargs.items() if k not in _NOT_PARAMETERS and v is not None
        }
        messages = kwargs.get("messages")
        tools = kwargs.get("tools") or kwargs.get("functions")
        input_: Any = {"messages": messages, "tools": tools} if tools else messages
        return (tracer or get_tracer()).start_generation(
            name,
            model=kwargs.get("model"),
            model_parameters=parameters or None,
            input=input_,
            prompt=prompt,
        )
    except Exception:
        from promptrail.tracing.observation import NOOP

        return NOOP


def _plain(value: Any) -> Any:
    """`response_format=SomePydanticModel` is recorded by name, not as the class."""
    if isinstance(value, type):
        return {"type": "json_schema", "schema": value.__name__}
    return value


def _finish(obs: Observation | NoopObservation, response: Any) -> None:
    try:
        choices = getattr(response, "choices", None) or []
        outputs = [_message(choice) for choice in choices]
        obs.update(
            model=getattr(response, "model", None) or getattr(obs, "model", None),
            usage=getattr(response, "usage", None),
            output=outputs[0] if len(outputs) == 1 else outputs,
        )
    finally:
        obs.end()


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


def _fail(obs: Observation | NoopObservation, exc: BaseException) -> None:
    obs.record_exception(exc)
    obs.end()


def _returned(obs: Observation | NoopObservation, response: Any, stream: Any, wrap: Any) -> Any:
    """The response as is (its generation ended), or a stream wrapped to record as it goes."""
    if stream and not hasattr(response, "choices"):
        return wrap(response, obs)
    _finish(obs, response)
    return response


# -- wrappers ----------------------------------------------------------------------------


def _sync_method(original: Any, tracer: Tracer | None, stream_usage: bool) -> Any:
    @functools.wraps(original)
    def create(*args: Any, **kwargs: Any) -> Any:
        obs = _start(tracer, kwargs, stream_usage)
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        return _returned(obs, response, kwargs.get("stream"), TracedStream)

    return create


def _async_method(original: Any, tracer: Tracer | None, stream_usage: bool) -> Any:
    @functools.wraps(original)
    async def create(*args: Any, **kwargs: Any) -> Any:
        obs = _start(tracer, kwargs, stream_usage)
        try:
            response = await original(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        return _returned(obs, response, kwargs.get("stream"), TracedAsyncStream)

    return create


class _Collector:
    """Rebuilds the reply from stream chunks: content, tool calls, usage, first token."""

    def __init__(self, obs: Observation | NoopObservation):
        self.obs = obs
        self.content: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.usage: Any = None
        self.model: str | None = None
        self.first = True
        self.done = False

    def add(self, chunk: Any) -> None:
        try:
            self.model = getattr(chunk, "model", None) or self.model
            if getattr(chunk, "usage", None) is not None:
                self.usage = chunk.usage
            for choice in getattr(chunk, "choices", None) or []:
                if getattr(choice, "index", 0) != 0:
                    continue
                delta = choice.delta
                text = getattr(delta, "content", None)
                calls = getattr(delta, "tool_calls", None)
                if self.first and (text or calls):
                    self.first = False
                    self.obs.update(completion_start_time=time_ns())
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
        except Exception:  # an odd chunk must not break the application's stream
            pass

    def finish(self, exc: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        output: dict[str, Any] = {"role": "assistant", "content": "".join(self.content)}
        if self.tool_calls:
            output["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        fields: dict[str, Any] = {"output": output, "usage": self.usage}
        if self.model:
            fields["model"] = self.model
        self.obs.update(**fields)
        if exc is not None and not isinstance(exc, GeneratorExit):
            self.obs.record_exception(exc)
        self.obs.end()


class _Wrapped:
    """What both stream wrappers share: the wrapped stream, its collector, its attributes."""

    def __init__(self, stream: Any, obs: Observation | NoopObservation):
        self._stream = stream
        self._collector = _Collector(obs)

    def __getattr__(self, name: str) -> Any:  # response, etc.
        return getattr(self._stream, name)


class TracedStream(_Wrapped):
    """Wraps `openai.Stream`: same iteration, context manager and close(); records as it goes."""

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._stream)
        except StopIteration:
            self._collector.finish()
            raise
        except BaseException as exc:
            self._collector.finish(exc)
            raise
        self._collector.add(chunk)
        return chunk

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._collector.finish()

    def __enter__(self) -> TracedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TracedAsyncStream(_Wrapped):
    """Wraps `openai.AsyncStream` the same way."""

    def __aiter__(self) -> TracedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            self._collector.finish()
            raise
        except BaseException as exc:
            self._collector.finish(exc)
            raise
        self._collector.add(chunk)
        return chunk

    async def close(self) -> None:
        try:
            await self._stream.close()
        finally:
            self._collector.finish()

    async def __aenter__(self) -> TracedAsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
