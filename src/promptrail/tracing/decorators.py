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

from . import tracer as _tracer_mod
from .context import current
from .observation import Call, Observation

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
        label = name or getattr(fn, "__name__", "call")
        params = _param_names(fn) if capture_input else ()
        if inspect.isasyncgenfunction(fn):
            wrapper = _async_gen_wrapper(fn, label, as_type, params, capture_input, capture_output)
        elif inspect.iscoroutinefunction(fn):
            wrapper = _async_wrapper(fn, label, as_type, params, capture_input, capture_output)
        elif inspect.isgeneratorfunction(fn):
            wrapper = _gen_wrapper(fn, label, as_type, params, capture_input, capture_output)
        else:
            wrapper = _sync_wrapper(fn, label, as_type, params, capture_input, capture_output)
        return functools.wraps(fn)(wrapper)  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def _sync_wrapper(
    fn: Callable[..., Any],
    name: str,
    type_: str,
    params: tuple[str, ...],
    capture_input: bool,
    capture_output: bool,
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracer = _tracer_mod.active or _tracer_mod.get_tracer()
        if not tracer.enabled:
            return fn(*args, **kwargs)
        obs = Observation(
            tracer,
            current.get(),
            name,
            type_,
            Call(params, args, kwargs) if capture_input else None,
        )
        token = current.set(obs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        finally:
            current.reset(token)
        if capture_output:
            obs.output = result
        obs.end()
        return result

    return wrapper


def _async_wrapper(
    fn: Callable[..., Any],
    name: str,
    type_: str,
    params: tuple[str, ...],
    capture_input: bool,
    capture_output: bool,
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracer = _tracer_mod.active or _tracer_mod.get_tracer()
        if not tracer.enabled:
            return await fn(*args, **kwargs)
        obs = Observation(
            tracer,
            current.get(),
            name,
            type_,
            Call(params, args, kwargs) if capture_input else None,
        )
        token = current.set(obs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        finally:
            current.reset(token)
        if capture_output:
            obs.output = result
        obs.end()
        return result

    return wrapper


def _gen_wrapper(
    fn: Callable[..., Any],
    name: str,
    type_: str,
    params: tuple[str, ...],
    capture_input: bool,
    capture_output: bool,
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracer = _tracer_mod.active or _tracer_mod.get_tracer()
        if not tracer.enabled:
            return fn(*args, **kwargs)
        obs = Observation(
            tracer,
            current.get(),
            name,
            type_,
            Call(params, args, kwargs) if capture_input else None,
        )
        token = current.set(obs)
        try:
            gen = fn(*args, **kwargs)
        except BaseException as exc:
            _fail(obs, exc)
            raise
        finally:
            current.reset(token)
        return _traced_generator(obs, gen, capture_output)

    return wrapper


def _collected(items: list[Any] | None, result: Any) -> Any:
    if not items:
        return result
    if all(isinstance(item, str) for item in items):
        return "".join(items)
    return items


def _traced_generator(obs: Observation, gen: Iterator[Any], capture: bool) -> Any:
    items: list[Any] | None = [] if capture else None
    sent: Any = None
    thrown: BaseException | None = None
    first = True
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
            if first:
                first = False
                if obs.type == "generation":  # time to first token
                    obs.completion_start_ns = time_ns()
            if items is not None:
                items.append(item)
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
        if items:  # what was produced before the error or the early close
            obs.output = _collected(items, None)
        _fail(obs, exc)
        raise
    if items is not None:
        obs.output = _collected(items, result)
    obs.end()
    return result


def _async_gen_wrapper(
    fn: Callable[..., Any],
    name: str,
    type_: str,
    params: tuple[str, ...],
    capture_input: bool,
    capture_output: bool,
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracer = _tracer_mod.active or _tracer_mod.get_tracer()
        if not tracer.enabled:
            return fn(*args, **kwargs)
        obs = Observation(
            tracer,
            current.get(),
            name,
            type_,
            Call(params, args, kwargs) if capture_input else None,
        )
        return _traced_async_generator(obs, fn(*args, **kwargs), capture_output)

    return wrapper


async def _traced_async_generator(obs: Observation, agen: AsyncIterator[Any], capture: bool) -> Any:
    items: list[Any] | None = [] if capture else None
    sent: Any = None
    thrown: BaseException | None = None
    first = True
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
            if first:
                first = False
                if obs.type == "generation":  # time to first token
                    obs.completion_start_ns = time_ns()
            if items is not None:
                items.append(item)
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
        if items:
            obs.output = _collected(items, None)
        _fail(obs, exc)
        raise
    if items is not None:
        obs.output = _collected(items, None)
    obs.end()
