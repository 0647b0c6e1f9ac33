"""What every provider integration shares: a method wrapped so that each call is a
generation, and a stream wrapped so that it is recorded as the application consumes it.

A provider module supplies three things: `start(kwargs)` (pops promptrail's own
arguments, starts the generation), `finish(obs, response)` (records a whole response and
ends it) and `collector(obs)` (an object whose `add(chunk)` sees each streamed item and
whose `finish(exc)` ends the generation). Nothing here imports a provider's package.
"""

from __future__ import annotations

import contextlib
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

from promptrail.tracing.events import prompt_name
from promptrail.tracing.observation import NOOP, NoopObservation, Observation
from promptrail.tracing.tracer import Tracer, get_tracer

Obs = Observation | NoopObservation


class Collector(Protocol):
    def add(self, chunk: Any) -> None: ...

    def finish(self, exc: BaseException | None = None) -> None: ...


def start_generation(
    tracer: Tracer | None, kwargs: dict[str, Any], default_name: str, *, skip: set[str], input: Any
) -> Obs:
    """A generation for this call under the current observation (NOOP if anything goes
    wrong): `promptrail_prompt=` and `promptrail_name=` are taken out of `kwargs` (the
    provider never sees them), the model and parameters (all but `skip`) read from it.
    Without `promptrail_name=` the generation is named after its prompt, if it has one."""
    prompt = kwargs.pop("promptrail_prompt", None)
    name = kwargs.pop("promptrail_name", None)
    try:
        # A call made with a prompt is known by the prompt's name (the link itself is
        # built once, later, from `prompt=`).
        name = name or prompt_name(prompt) or default_name
        model = kwargs.get("model")
        return (tracer or get_tracer()).start_generation(
            name,
            model=None if model is None else str(model),
            model_parameters=parameters_of(kwargs, skip) or None,
            input=input,
            prompt=prompt,
        )
    except Exception:
        return NOOP


def parameters_of(kwargs: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """The call's model parameters: every argument not in `skip` and not None, with a
    class (`response_format=SomePydanticModel`) recorded by name."""
    out = {}
    for key, value in kwargs.items():
        if key in skip or value is None:
            continue
        out[key] = (
            {"type": "json_schema", "schema": value.__name__} if isinstance(value, type) else value
        )
    return out


def as_plain(value: Any) -> Any:
    """A provider's response object (pydantic, in openai and anthropic) as plain data."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(exclude_none=True)
        except Exception:
            return None
    return value


def fail(obs: Obs, exc: BaseException) -> None:
    obs.record_exception(exc)
    obs.end()


Start = Callable[[dict[str, Any]], Obs]
Finish = Callable[[Obs, Any], None]
MakeCollector = Callable[[Obs], Collector]


def _returned(
    obs: Obs,
    response: Any,
    streamed: bool,
    is_whole: Callable[[Any], bool],
    finish: Finish,
    collector: MakeCollector,
    wrap: type[_Wrapped],
) -> Any:
    """The response as is (its generation ended), or a stream wrapped to record as it goes."""
    if streamed and not is_whole(response):
        return wrap(response, collector(obs))
    try:
        finish(obs, response)
    finally:
        obs.end()
    return response


def sync_call(
    original: Any, start: Start, finish: Finish, collector: MakeCollector, is_whole: Any
) -> Any:
    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        obs = start(kwargs)
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            fail(obs, exc)
            raise
        streamed = bool(kwargs.get("stream"))
        return _returned(obs, response, streamed, is_whole, finish, collector, TracedStream)

    return call


def async_call(
    original: Any, start: Start, finish: Finish, collector: MakeCollector, is_whole: Any
) -> Any:
    @functools.wraps(original)
    async def call(*args: Any, **kwargs: Any) -> Any:
        obs = start(kwargs)
        try:
            response = await original(*args, **kwargs)
        except BaseException as exc:
            fail(obs, exc)
            raise
        streamed = bool(kwargs.get("stream"))
        return _returned(obs, response, streamed, is_whole, finish, collector, TracedAsyncStream)

    return call


class _Wrapped:
    """What both stream wrappers share: the wrapped stream, its collector, its attributes."""

    def __init__(self, stream: Any, collector: Collector):
        self._stream = stream
        self._collector = collector

    def __getattr__(self, name: str) -> Any:  # response, etc.
        return getattr(self._stream, name)

    def _add(self, chunk: Any) -> None:
        # An odd chunk must not break the application's stream.
        with contextlib.suppress(Exception):
            self._collector.add(chunk)


class TracedStream(_Wrapped):
    """Wraps a provider's sync stream: same iteration, context manager and close()."""

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
        self._add(chunk)
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()
        finally:
            self._collector.finish()

    def __enter__(self) -> TracedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TracedAsyncStream(_Wrapped):
    """Wraps a provider's async stream the same way."""

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
        self._add(chunk)
        return chunk

    async def close(self) -> None:
        try:
            close = getattr(self._stream, "close", None) or getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            self._collector.finish()

    async def __aenter__(self) -> TracedAsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Ending(ABC):
    """Base for collectors: `finish` records `fields()` once, then ends the generation."""

    def __init__(self, obs: Obs) -> None:
        self.obs = obs
        self.done = False
        self.first = True

    def first_token(self) -> None:
        if self.first:
            self.first = False
            from time import time_ns

            self.obs.update(completion_start_time=time_ns())

    @abstractmethod
    def fields(self) -> dict[str, Any]: ...

    @abstractmethod
    def add(self, chunk: Any) -> None: ...

    def finish(self, exc: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.obs.update(**{k: v for k, v in self.fields().items() if v is not None})
        finally:
            if exc is not None and not isinstance(exc, GeneratorExit):
                self.obs.record_exception(exc)
            self.obs.end()
