"""`@observe()`: a span (or generation) around a function, a coroutine or a generator.

The wrappers are the hot path: look up the tracer, create one Observation (a few slot
stores and two clock reads), set the contextvar, call, reset, append to the queue.
Arguments and return values are kept as they are; they become JSON on the export thread.
Generators are stepped one item at a time with the observation current only while the
generator body runs, so code between two `next()` calls is not attributed to it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from time import time_ns
from typing import Any, Literal, TypeVar, overload

from promptrail.tracing import tracer as _tracer_mod
from promptrail.tracing.context import current
from promptrail.tracing.observation import Call, Observation

F = TypeVar("F", bound=Callable[..., Any])
ObservationType = Literal["span", "generation"]


def _fail(obs: Observation, exc: BaseException) -> None:
    if isinstance(exc, Exception):
        obs.record_exception(exc)
    elif not isinstance(exc, GeneratorExit):  # cancelled, interrupted: not the code's fault
        obs.level = "WARNING"
        obs.status_message = type(exc).__name__
    obs.end()


def _param_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Positional parameter names, with self/cls blanked so the input leaves them out."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return ()
    names = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if names and names[0] in ("self", "cls"):
        names[0] = ""
    return tuple(names)


@overload
def observe(func: F) -> F: ...
@overload
def observe(
    func: None = None,
    *,
    name: str | None = None,
    as_type: ObservationType = "span",
    capture_input: bool = True,
    capture_output: bool = True,
) -> Callable[[F], F]: ...
def observe(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    as_type: ObservationType = "span",
    capture_input: bool = True,
    capture_output: bool = True,
) -> Any:
    """Trace each call of the decorated function as a span or a generation.

    Works on sync and async functions, generators and async generators (the observation
    ends when iteration ends). Exceptions are recorded (level ERROR) and re-raised as is.
    """
    if as_type not in ("span", "generation"):
        raise ValueError(f"as_type must be 'span' or 'generation', not {as_type!r}")

    def decorate(fn: F) -> F:
        label = name or str(getattr(fn, "__name__", "call"))
        start = _starter(label, as_type, _param_names(fn) if capture_input else (), capture_input)
        if inspect.isasyncgenfunction(fn):
            wrapper = _async_gen_wrapper(fn, start, capture_output)
        elif inspect.iscoroutinefunction(fn):
            wrapper = _async_wrapper(fn, start, capture_output)
        elif inspect.isgeneratorfunction(fn):
            wrapper = _gen_wrapper(fn, start, capture_output)
        else:
            wrapper = _sync_wrapper(fn, start, capture_output)
        return functools.wraps(fn)(wrapper)  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


Starter = Callable[[tuple[Any, ...], dict[str, Any]], Observation | None]


def _starter(name: str, type_: str, params: tuple[str, ...], capture_input: bool) -> Starter:
    """The first step of every wrapper: a new observation, or None when tracing is off."""

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Observation | None:
        tracer = _tracer_mod.active or _tracer_mod.get_tracer()
        if not tracer.enabled:
            return None
        call = Call(params, args, kwargs) if capture_input else None
        return Observation(tracer, current.get(), name, type_, call)

    return start


def _sync_wrapper(fn: Callable[..., Any], start: Starter, capture: bool) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        obs = start(args, kwargs)
        if obs is None:
            return fn(*args, **kwargs)
        token = current.set(obs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        finally:
            current.reset(token)
        if capture:
            obs.output = result
        obs.end()
        return result

    return wrapper


def _async_wrapper(fn: Callable[..., Any], start: Starter, capture: bool) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        obs = start(args, kwargs)
        if obs is None:
            return await fn(*args, **kwargs)
        token = current.set(obs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        finally:
            current.reset(token)
        if capture:
            obs.output = result
        obs.end()
        return result

    return wrapper


def _gen_wrapper(fn: Callable[..., Any], start: Starter, capture: bool) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        obs = start(args, kwargs)
        if obs is None:
            return fn(*args, **kwargs)
        token = current.set(obs)
        try:
            gen = fn(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        finally:
            current.reset(token)
        return _traced_generator(_Stream(obs, capture), gen)

    return wrapper


def _async_gen_wrapper(fn: Callable[..., Any], start: Starter, capture: bool) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        obs = start(args, kwargs)
        if obs is None:
            return fn(*args, **kwargs)
        return _traced_async_generator(_Stream(obs, capture), fn(*args, **kwargs))

    return wrapper


class _Stream:
    """The bookkeeping both generator wrappers share: first item, items so far, the end."""

    __slots__ = ("first", "items", "obs")

    def __init__(self, obs: Observation, capture: bool) -> None:
        self.obs = obs
        self.items: list[Any] | None = [] if capture else None
        self.first = True

    def took(self, item: Any) -> None:
        if self.first:
            self.first = False
            if self.obs.type == "generation":  # time to first token
                self.obs.completion_start_ns = time_ns()
        if self.items is not None:
            self.items.append(item)

    def failed(self, exc: BaseException) -> None:
        if self.items:  # what was produced before the error or the early close
            self.obs.output = _collected(self.items, None)
        _fail(self.obs, exc)

    def done(self, result: Any) -> None:
        if self.items is not None:
            self.obs.output = _collected(self.items, result)
        self.obs.end()


def _collected(items: list[Any] | None, result: Any) -> Any:
    if not items:
        return result
    if all(isinstance(item, str) for item in items):
        return "".join(items)
    return items


def _traced_generator(stream: _Stream, gen: Iterator[Any]) -> Any:
    obs = stream.obs
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            token = current.set(obs)
            try:
                item = gen.send(sent) if thrown is None else gen.throw(thrown)  # type: ignore[attr-defined]
            except StopIteration as stop:
                result = stop.value
                break
            finally:
                current.reset(token)
                thrown = None
            stream.took(item)
            try:
                sent = yield item
            except GeneratorExit:
                token = current.set(obs)
                try:
                    gen.close()  # type: ignore[attr-defined]
                finally:
                    current.reset(token)
                raise
            except BaseException as exc:  # thrown in by the consumer: pass it on
                thrown = exc
    except BaseException as exc:
        stream.failed(exc)
        raise
    stream.done(result)
    return result


async def _traced_async_generator(stream: _Stream, agen: AsyncIterator[Any]) -> Any:
    obs = stream.obs
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            token = current.set(obs)
            try:
                if thrown is None:
                    item = await agen.asend(sent)  # type: ignore[attr-defined]
                else:
                    item = await agen.athrow(thrown)  # type: ignore[attr-defined]
            except StopAsyncIteration:
                break
            finally:
                current.reset(token)
                thrown = None
            stream.took(item)
            try:
                sent = yield item
            except GeneratorExit:
                token = current.set(obs)
                try:
                    await agen.aclose()  # type: ignore[attr-defined]
                finally:
                    current.reset(token)
                raise
            except BaseException as exc:
                thrown = exc
    except BaseException as exc:
        stream.failed(exc)
        raise
    stream.done(None)
