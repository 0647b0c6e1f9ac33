"""Turn anything an application passes to a traced call into JSON, never raising.

`capture` runs on the caller's thread: a value that could still change becomes JSON text
there and then, in one pass of the C encoder when the value allows it. `to_jsonable` is
the careful path behind it. Pydantic models go through `model_dump`, dataclasses and plain
objects through their fields, bytes become text when they are UTF-8 (a size note
otherwise), datetimes ISO strings; cycles, depth and size are cut with a visible marker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

MAX_CHARS = 100_000  # per string
MAX_ITEMS = 1_000  # per list or mapping
MAX_DEPTH = 20
WHOLE_FACTOR = 10  # a captured value whose JSON is up to 10 x max_chars is kept whole

_PRIMITIVE = (str, int, float, bool, type(None))


def truncate(text: str, max_chars: int = MAX_CHARS) -> str:
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {len(text) - max_chars} chars]"


def to_jsonable(value: Any, max_chars: int = MAX_CHARS) -> Any:
    """A JSON-serializable copy of `value`; whatever goes wrong becomes a marker string."""
    try:
        return _convert(value, max_chars, 0, set())
    except Exception as exc:  # a hostile __repr__ or __getattr__; never propagate
        return f"<unserializable {type(value).__name__}: {type(exc).__name__}>"


def _convert(value: Any, max_chars: int, depth: int, seen: set[int]) -> Any:
    kind = type(value)
    if kind is str:
        return value if len(value) <= max_chars else truncate(value, max_chars)
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return f"<max depth {MAX_DEPTH}: {kind.__name__}>"
    if isinstance(value, Mapping | list | tuple | set | frozenset) or dataclasses.is_dataclass(
        value
    ):
        key = id(value)
        if key in seen:
            return f"<cycle: {kind.__name__}>"
        seen.add(key)
        try:
            return _container(value, max_chars, depth, seen)
        finally:
            seen.discard(key)
    try:
        return _scalar(value, max_chars, depth, seen)
    except Exception:  # a hostile __getattr__ or model_dump: this value only becomes a marker
        return truncate(_safe_repr(value), max_chars)


def _container(value: Any, max_chars: int, depth: int, seen: set[int]) -> Any:
    depth += 1
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"[truncated {len(value) - MAX_ITEMS} items]"
                break
            name = k if isinstance(k, str) else str(_convert(k, max_chars, depth, seen))
            out[name] = _convert(v, max_chars, depth, seen)
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _convert(getattr(value, f.name, None), max_chars, depth, seen)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # namedtuple
        return _convert(value._asdict(), max_chars, depth - 1, seen)
    items = value if isinstance(value, list | tuple) else _sorted_if_possible(value)
    converted = [_convert(v, max_chars, depth, seen) for v in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        converted.append(f"…[truncated {len(items) - MAX_ITEMS} items]")
    return converted


def _sorted_if_possible(values: set[Any] | frozenset[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return list(values)


def _scalar(value: Any, max_chars: int, depth: int, seen: set[int]) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return truncate(raw.decode("utf-8"), max_chars)
        except UnicodeDecodeError:
            return f"<{len(raw)} bytes>"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return _convert(value.value, max_chars, depth + 1, seen)
    if isinstance(value, uuid.UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, BaseException):
        return truncate(f"{type(value).__name__}: {value}", max_chars)
    if isinstance(value, int | float | str):  # subclasses (IntEnum handled above)
        return _convert(type(value).__mro__[-2](value), max_chars, depth, seen)
    dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(dump) and not isinstance(value, type):
        try:
            return _nested(dump(mode="json"), max_chars, depth, seen, value)
        except Exception:
            try:
                return _nested(dump(), max_chars, depth, seen, value)
            except Exception:
                pass
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict) and attrs and not callable(value):
        public = {k: v for k, v in attrs.items() if not k.startswith("_")}
        return _nested(public, max_chars, depth, seen, value)
    return truncate(_safe_repr(value), max_chars)


def _nested(data: Any, max_chars: int, depth: int, seen: set[int], owner: Any) -> Any:
    key = id(owner)
    if key in seen:
        return f"<cycle: {type(owner).__name__}>"
    seen.add(key)
    try:
        return _convert(data, max_chars, depth + 1, seen)
    finally:
        seen.discard(key)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


# -- capture at call and return time ------------------------------------------------------

IMMUTABLE = frozenset({str, int, float, bool, type(None)})


class Encoded(str):
    """JSON text made on the caller's thread: what a value was at call (or return) time."""

    __slots__ = ()


def _fallback(value: Any) -> Any:
    """What the C encoder cannot encode itself (models, dataclasses, bytes, sets...)."""
    return to_jsonable(value)


_FAST = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_fallback
).encode
_PLAIN = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode(value: Any, max_chars: int = MAX_CHARS) -> str:
    """JSON text for `value`, never raising. One pass of the C encoder when it can take the
    value as it is and its text is at most WHOLE_FACTOR x `max_chars` long: then it is kept
    whole, so a large argument costs one encoding. Values the encoder refuses (cycles,
    NaN, odd keys) or larger ones go through `to_jsonable`, which cuts strings over
    `max_chars`, lists and mappings over MAX_ITEMS and depth over MAX_DEPTH."""
    try:
        text: str = _FAST(value)
    except (ValueError, TypeError, RecursionError):
        return _PLAIN(to_jsonable(value, max_chars))
    except Exception:  # a hostile object inside: let to_jsonable mark just that one
        return _PLAIN(to_jsonable(value, max_chars))
    if len(text) > max_chars * WHOLE_FACTOR:
        return _PLAIN(to_jsonable(value, max_chars))
    return text


def capture(value: Any, max_chars: int = MAX_CHARS) -> Any:
    """A value as it is now: immutable scalars as they are (nothing can change them),
    anything else encoded to JSON text at once, so later mutation does not reach the trace
    and the queue does not keep the object alive."""
    kind = type(value)
    if kind in IMMUTABLE or kind is Encoded:
        return value
    return Encoded(encode(value, max_chars))


def capture_items(mapping: Mapping[Any, Any], max_chars: int = MAX_CHARS) -> dict[str, Any]:
    """A mapping's values captured one by one (metadata, which later updates merge into)."""
    return {str(k): capture(v, max_chars) for k, v in mapping.items()}


def capture_call(
    params: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any], max_chars: int
) -> Any:
    """A decorated call's input: kept as is when every argument is an immutable scalar
    (mapped to parameter names later, off the caller's thread), else encoded now."""
    for value in args:
        if type(value) not in IMMUTABLE:
            break
    else:
        for value in kwargs.values():
            if type(value) not in IMMUTABLE:
                break
        else:
            return Call(params, args, kwargs)
    return Encoded(encode(Call(params, args, kwargs).as_dict(), max_chars))


class Call:
    """The arguments of a decorated call, all immutable scalars; named off-thread."""

    __slots__ = ("args", "kwargs", "params")

    def __init__(self, params: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.params = params
        self.args = args
        self.kwargs = kwargs

    def as_dict(self) -> dict[str, Any]:
        """Positional arguments by parameter name (self/cls left out), extra ones under `args`."""
        out: dict[str, Any] = {}
        params = self.params
        for name, value in zip(params, self.args, strict=False):
            if name:
                out[name] = value
        if len(self.args) > len(params):
            out["args"] = list(self.args[len(params) :])
        out.update(self.kwargs)
        return out
