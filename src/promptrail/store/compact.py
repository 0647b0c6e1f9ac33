"""Reading the compact ingest format (version 2, `{"v": 2, "o": [...], ...}`) into events.

The promptrail tracer sends one record per observation with short keys, times in
integer microseconds from a base per batch, and a root observation carrying its trace's
attributes (docs/tracing.md has the table). Records are checked here by hand, field by
field (pydantic costs more per record than storing it), and become the same events the
version-1 path makes, so storing them (`ingest.store_valid`) is one piece of code.
A record that fails a check is refused alone, named by its id and the key at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from promptrail.api.tracing import ScoreBody
from promptrail.store.ingest import Outcome, describe, event_error

WIRE_VERSIONS = (1, 2)
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPES = {None: "span", "g": "generation", "e": "event", "s": "span"}
_LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
_MAX_MICROS = 253_402_300_799_000_000  # 9999-12-31
_USAGE = ("input", "output", "total", "cached", "reasoning")
_MONEY = ("input", "output", "total")


class Invalid(ValueError):
    """One record's fault: the key and what is wrong with it."""


class Record:
    """Attribute access over a dict; what the record does not carry reads as None."""

    def __init__(self, fields: dict[str, Any]):
        self.__dict__ = fields

    def __getattr__(self, name: str) -> Any:
        return None


@dataclass(slots=True)
class Event:
    """What `ingest.add_events` takes: a type, an id and a body with attributes."""

    type: str
    id: str
    body: Any


def parse_compact(doc: dict[str, Any]) -> tuple[Outcome, list[Event]]:
    """The per-record result and the valid events in order (a trace before its root)."""
    version = doc.get("v")
    if version != 2:
        raise Invalid(
            f"wire version {version!r} is not one this server reads ({WIRE_VERSIONS}): "
            "upgrade the server, or send version 1"
        )
    base = doc.get("b", 0)
    if type(base) is not int or not 0 <= base <= _MAX_MICROS:
        raise Invalid("b: expected the batch's base time in microseconds since 1970")
    result = Outcome(count_only=True)
    events: list[Event] = []  # a record sent twice is merged by the batch, newest wins
    for key, convert in (("o", _observation), ("t", _trace), ("sc", _score)):
        records = doc.get(key) or []
        if not isinstance(records, list):
            raise Invalid(f"{key}: expected a list of records")
        for index, raw in enumerate(records):
            record_id = _record_id(raw)
            try:
                made = convert(raw, base)
            except Invalid as exc:
                result.errors.append(event_error(record_id, f"{key}[{index}].{exc}"))
                continue
            events += made
            result.successes.append({"id": made[-1].id, "status": 201})
    return result, events


def _record_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("i", raw.get("t"))
        return value if isinstance(value, str) else None
    return None


# -- fields -----------------------------------------------------------------------------------


def _id(raw: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if type(value) is not str or not _ID.fullmatch(value):
        raise Invalid(f"{key}: expected an id of 1-64 characters A-Z a-z 0-9 _ . : -")
    return value


def _text(raw: dict[str, Any], key: str, limit: int | None = 200) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if type(value) is not str:
        raise Invalid(f"{key}: expected a string")
    if limit is not None and len(value) > limit:
        raise Invalid(f"{key}: at most {limit} characters")
    return value


def _micros(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if type(value) is not int or abs(value) > _MAX_MICROS:
        raise Invalid(f"{key}: expected whole microseconds")
    return value


def _at(base: int, start: int | None, offset: int | None = 0) -> datetime | None:
    """base + start + offset microseconds as a time; None when a part is missing."""
    if start is None or offset is None:
        return None
    return _time(base + start + offset)


def _time(micros: int | None) -> datetime | None:
    if micros is None:
        return None
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise Invalid("s: the time is out of range") from None


def _counts(value: Any, key: str, money: bool) -> Record | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(f"{key}: expected an object")
    out: dict[str, Any] = {}
    for name in _MONEY if money else _USAGE:
        number = value.get(name)
        if number is None:
            continue
        ok = type(number) in (int, float) if money else type(number) is int
        if not ok or number < 0:
            kind = "a non-negative number" if money else "a non-negative whole number"
            raise Invalid(f"{key}.{name}: expected {kind}")
        out[name] = float(number) if money else number
    return Record(out)


def _prompt(value: Any) -> Record | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid("pr: expected {name, version, label, hash}")
    name = _text(value, "name")
    if name is None:
        raise Invalid("pr.name: required")
    version = value.get("version")
    if version is not None and type(version) is not int:
        raise Invalid("pr.version: expected a whole number")
    label = _text(value, "label", 63)
    digest = _text(value, "hash", 64)
    return Record({"name": name, "version": version, "label": label, "hash": digest})


# -- records ----------------------------------------------------------------------------------


def _observation(raw: Any, base: int) -> list[Event]:
    if not isinstance(raw, dict):
        raise Invalid("expected an object")
    obs_id = _id(raw, "i")
    trace_id = _id(raw, "t")
    kind = raw.get("k")
    if kind not in _TYPES:
        raise Invalid("k: expected g (generation), e (event) or s (span)")
    start_us = _micros(raw, "s")
    start = _at(base, start_us)
    body = {
        "id": obs_id,
        "trace_id": trace_id,
        "parent_id": _id(raw, "p", required=False),
        "type": _TYPES[kind],
        "name": _text(raw, "n"),
        "start_time": start,
        "end_time": _at(base, start_us, _micros(raw, "d")),
        "input": raw.get("in"),
        "output": raw.get("out"),
        **_NO_EXTRA,
    }
    if not raw.keys() <= _COMMON:  # most spans carry nothing else
        _extra(raw, base, start_us, body)
    created = Event("observation-create", obs_id, Record(body))  # type: ignore[arg-type]
    if body["parent_id"] is not None:
        return [created]
    # A root observation: its trace, from its own fields and the trace's attributes.
    trace = _trace_fields(raw.get("tr"), body)
    return [Event("trace-create", trace_id, Record(trace)), created]  # type: ignore[arg-type]


_COMMON = frozenset({"i", "t", "p", "k", "n", "s", "d", "in", "out", "tr"})
_NO_EXTRA: dict[str, Any] = dict.fromkeys(
    (
        "completion_start_time",
        "level",
        "status_message",
        "version",
        "metadata",
        "model",
        "model_parameters",
        "usage",
        "cost",
        "prompt",
    )
)


def _extra(raw: dict[str, Any], base: int, start_us: int | None, body: dict[str, Any]) -> None:
    """The fields of generations, errors and spans with metadata."""
    level = raw.get("l")
    if level is not None and level not in _LEVELS:
        raise Invalid(f"l: expected one of {sorted(_LEVELS)}")
    params = raw.get("mp")
    if params is not None and not isinstance(params, dict):
        raise Invalid("mp: expected an object")
    body["completion_start_time"] = _at(base, start_us, _micros(raw, "ft"))
    body["level"] = level
    body["status_message"] = _text(raw, "sm", None)
    body["version"] = _text(raw, "ver")
    body["metadata"] = raw.get("m")
    body["model"] = _text(raw, "mo")
    body["model_parameters"] = params
    body["usage"] = _counts(raw.get("us"), "us", money=False)
    body["cost"] = _counts(raw.get("c"), "c", money=True)
    body["prompt"] = _prompt(raw.get("pr"))


def _trace(raw: Any, base: int) -> list[Event]:
    """A trace updated after its root went out (the root's fields repeated)."""
    if not isinstance(raw, dict):
        raise Invalid("expected an object")
    trace_id = _id(raw, "t")
    start_us = _micros(raw, "s")
    root = {
        "id": trace_id,
        "name": _text(raw, "n"),
        "start_time": _at(base, start_us),
        "end_time": _at(base, start_us, _micros(raw, "d")),
        "input": raw.get("in"),
        "output": raw.get("out"),
    }
    return [Event("trace-create", trace_id, Record(_trace_fields(raw.get("tr"), root)))]  # type: ignore[arg-type]


_TRACE_KEYS = (("u", "user_id"), ("se", "session_id"), ("r", "release"), ("env", "environment"))


def _trace_fields(attrs: Any, root: dict[str, Any]) -> dict[str, Any]:
    if attrs is None:
        attrs = {}
    elif not isinstance(attrs, dict):
        raise Invalid("tr: expected an object of trace attributes")
    trace = {
        "id": root["trace_id"] if "trace_id" in root else root["id"],
        "name": _text(attrs, "n") or root["name"],
        "start_time": root["start_time"],
        "end_time": root["end_time"],
        "input": attrs.get("in", root["input"]),
        "output": attrs.get("out", root["output"]),
        "metadata": attrs.get("m"),
    }
    for key, name in _TRACE_KEYS:
        trace[name] = _text(attrs, key)
    tags = attrs.get("tg")
    if tags is not None:
        if not isinstance(tags, list) or not all(type(t) is str and len(t) <= 200 for t in tags):
            raise Invalid("tr.tg: expected a list of strings of at most 200 characters")
        trace["tags"] = tags
    public = attrs.get("pub")
    if public is not None and type(public) is not bool:
        raise Invalid("tr.pub: expected true or false")
    trace["public"] = public
    return trace


def _score(raw: Any, base: int) -> list[Event]:
    """Scores are few: the API's own model checks them."""
    if not isinstance(raw, dict):
        raise Invalid("expected an object")
    stamp = _micros(raw, "ts")
    fields = {
        "id": raw.get("i"),
        "name": raw.get("n"),
        "value": raw.get("v"),
        "data_type": raw.get("dt"),
        "trace_id": raw.get("t"),
        "observation_id": raw.get("o"),
        "session_id": raw.get("se"),
        "source": "sdk",
        "comment": raw.get("c"),
        "timestamp": _at(base, stamp),
    }
    try:
        body = ScoreBody.model_validate(fields)
    except ValidationError as exc:
        raise Invalid(describe(exc)) from None
    if body.id is None:
        raise Invalid("i: required")
    return [Event("score-create", body.id, body)]
