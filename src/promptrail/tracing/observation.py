"""Traces, observations (span, event, generation) and scores as recorded on the caller's thread.

These objects hold `time.time_ns()` stamps and values as they were when recorded:
immutable scalars as they are, anything else as JSON text made at once (`capture`), so a
later mutation does not change the trace and a queued span keeps no argument alive.
Usage, prompts and the wire format are worked out later, on the export thread.
Fields that most spans never set (level, metadata, model, usage...) are left unset in
their slots and read with `getattr(obs, name, None)` there, so a span costs a handful of
attribute stores.
"""

from __future__ import annotations

import logging
from random import getrandbits
from time import time_ns
from typing import TYPE_CHECKING, Any

from promptrail.tracing.context import current, outside_parent, span_hex, trace_hex
from promptrail.tracing.serialize import capture, capture_items

if TYPE_CHECKING:
    from promptrail.tracing.tracer import Tracer

log = logging.getLogger("promptrail.tracing")

LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
TRACE_FIELDS = frozenset(
    {"name", "user_id", "session_id", "tags", "metadata", "release", "environment"}
    | {"input", "output", "public"}
)
# Values an application may still change after handing them over: copied as JSON at once.
# (Metadata stays a dict of such copies, so that later updates can merge into it.)
CAPTURED = frozenset({"input", "output", "model_parameters"})
OBSERVATION_FIELDS = frozenset(
    {"name", "input", "output", "metadata", "level", "status_message", "version"}
    | {"model", "model_parameters", "usage", "cost", "prompt", "completion_start_time"}
)


class Trace:
    """One end-to-end run; its root observation creates it and its attributes ride along."""

    __slots__ = ("attrs", "id", "joined", "root", "sampled", "tracer")

    def __init__(self, tracer: Tracer, trace_id: int, root: Observation, joined: bool = False):
        self.tracer = tracer
        self.id = trace_id
        self.sampled = (trace_id & 0xFFFFFFFFFFFFFFFF) < tracer._sample_threshold
        self.root = root
        self.attrs: dict[str, Any] | None = None
        # Started elsewhere (another process, or an OpenTelemetry span): the trace's name
        # and times are not ours to set.
        self.joined = joined

    @property
    def trace_id(self) -> str:
        return trace_hex(self.id)

    def update(self, **attrs: Any) -> None:
        """Set trace attributes; tags are added to and metadata merged into what is there."""
        try:
            current_attrs = self.attrs
            if current_attrs is None:
                current_attrs = self.attrs = {}
            for key, value in attrs.items():
                if key not in TRACE_FIELDS:
                    log.warning("promptrail: unknown trace attribute %r ignored", key)
                elif key == "tags" and value is not None:
                    old = current_attrs.get("tags") or []
                    current_attrs["tags"] = [*old, *(t for t in value if t not in old)]
                elif key == "metadata" and isinstance(value, dict):
                    new = capture_items(value, self.tracer.max_field_chars)
                    current_attrs["metadata"] = {**(current_attrs.get("metadata") or {}), **new}
                elif key in CAPTURED and value is not None:
                    current_attrs[key] = capture(value, self.tracer.max_field_chars)
                elif value is not None:
                    current_attrs[key] = value
            # The root already went out with the trace: send the trace again (an upsert).
            if self.root.end_ns and self.sampled:
                self.tracer._emit(self)
        except Exception:  # never raise into the application
            log.debug("promptrail: trace update failed", exc_info=True)


class Observation:
    """A span, an event or a generation; also a context manager that makes it current."""

    __slots__ = (
        "_token",
        "completion_start_ns",
        "cost",
        "end_ns",
        "has_extra",
        "id",
        "input",
        "level",
        "metadata",
        "model",
        "model_parameters",
        "name",
        "output",
        "parent_id",
        "prompt",
        "start_ns",
        "status_message",
        "trace",
        "type",
        "usage",
        "version",
    )

    def __init__(
        self, tracer: Tracer, parent: Observation | None, name: str, type_: str, input_: Any
    ):
        self.id = getrandbits(64)
        if parent is None:
            outside = outside_parent()
            if outside is None:
                self.trace = Trace(tracer, getrandbits(128), self)
                self.parent_id = None
            else:
                self.trace = Trace(tracer, outside[0], self, joined=True)
                self.parent_id = outside[1]
        else:
            self.trace = parent.trace
            self.parent_id = parent.id
        self.name = name
        self.type = type_
        self.input = input_
        self.output = None
        self.end_ns = 0
        self.has_extra = False  # set with any field below `output`: the exporter looks then
        self.start_ns = time_ns()

    # -- identity ------------------------------------------------------------------------
    @property
    def trace_id(self) -> str:
        return trace_hex(self.trace.id)

    @property
    def observation_id(self) -> str:
        return span_hex(self.id)

    # -- recording ----------------------------------------------------------------------
    def update(self, **fields: Any) -> Observation:
        """Set output, metadata, level, status_message, usage, model... (unknown names warn)."""
        try:
            self.has_extra = True
            for key, value in fields.items():
                if key not in OBSERVATION_FIELDS:
                    log.warning("promptrail: unknown observation field %r ignored", key)
                elif key == "completion_start_time":
                    self.completion_start_ns = _to_ns(value)
                elif key == "metadata" and isinstance(value, dict):
                    old = getattr(self, "metadata", None)
                    new = capture_items(value, self.trace.tracer.max_field_chars)
                    self.metadata = {**old, **new} if isinstance(old, dict) else new
                elif key in CAPTURED:
                    setattr(self, key, capture(value, self.trace.tracer.max_field_chars))
                else:
                    setattr(self, key, value)
            if self.end_ns and self.trace.sampled:
                self.trace.tracer._emit(self)  # already sent: send again (an upsert)
        except Exception:
            log.debug("promptrail: observation update failed", exc_info=True)
        return self

    def update_trace(self, **attrs: Any) -> Observation:
        self.trace.update(**attrs)
        return self

    def record_exception(self, exc: BaseException) -> None:
        self.has_extra = True
        try:
            self.level = "ERROR"
            self.status_message = f"{type(exc).__name__}: {exc}"
        except Exception:
            self.status_message = type(exc).__name__

    def end(self, *, output: Any = None) -> None:
        """End now; a second call is ignored. Ending sends the observation to the exporter."""
        if self.end_ns:
            return
        if output is not None:
            self.output = capture(output, self.trace.tracer.max_field_chars)
        self.end_ns = time_ns()
        if self.trace.sampled:
            self.trace.tracer._emit(self)

    # -- children -----------------------------------------------------------------------
    def start_span(self, name: str, **fields: Any) -> Observation:
        """A child of this observation, whatever the current context says (e.g. in a thread)."""
        return _child(self, name, "span", fields)

    def start_generation(self, name: str, **fields: Any) -> Observation:
        return _child(self, name, "generation", fields)

    def event(self, name: str, **fields: Any) -> Observation:
        obs = _child(self, name, "event", fields)
        obs.end()
        return obs

    def score(
        self,
        name: str,
        value: float | bool | str,
        *,
        data_type: str | None = None,
        comment: str | None = None,
    ) -> None:
        """A score on this observation (source "sdk")."""
        emit_score(self.trace, name, value, self.id, None, data_type, comment)

    def score_trace(
        self,
        name: str,
        value: float | bool | str,
        *,
        data_type: str | None = None,
        comment: str | None = None,
    ) -> None:
        emit_score(self.trace, name, value, None, None, data_type, comment)

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> Observation:
        self._token = current.set(self)
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            current.reset(self._token)
        except (ValueError, RuntimeError, AttributeError):
            # Exited in another context than the one it was entered in: fall back to the parent.
            current.set(None)
        if exc is not None:
            self.record_exception(exc)
        self.end()

    def __repr__(self) -> str:
        return f"<{self.type} {self.name!r} {self.observation_id} in trace {self.trace_id}>"


def _child(parent: Observation, name: str, type_: str, fields: dict[str, Any]) -> Observation:
    tracer = parent.trace.tracer
    input_ = capture(fields.pop("input", None), tracer.max_field_chars)
    obs = Observation(tracer, parent, name, type_, input_)
    if fields:
        obs.update(**fields)
    return obs


def _to_ns(value: Any) -> int:
    """Accept a datetime, epoch seconds (float) or epoch nanoseconds (int)."""
    if hasattr(value, "timestamp"):
        return int(value.timestamp() * 1e9)
    if isinstance(value, float):
        return int(value * 1e9)
    return int(value)


class Score:
    """A score recorded by the SDK; exported as a `score-create` event."""

    __slots__ = (
        "comment",
        "data_type",
        "id",
        "metadata",
        "name",
        "observation_id",
        "session_id",
        "timestamp_ns",
        "trace_id",
        "value",
    )

    def __init__(self, name: str, value: Any) -> None:
        self.id = getrandbits(64)
        self.name = name
        self.value = value
        self.timestamp_ns = time_ns()
        self.trace_id: str | None = None
        self.observation_id: str | None = None
        self.session_id: str | None = None
        self.data_type: str | None = None
        self.comment: str | None = None
        self.metadata: Any = None


def emit_score(
    trace: Trace,
    name: str,
    value: Any,
    observation_id: int | None,
    session_id: str | None,
    data_type: str | None,
    comment: str | None,
) -> None:
    try:
        score = Score(name, value)
        score.trace_id = trace_hex(trace.id)
        score.observation_id = None if observation_id is None else span_hex(observation_id)
        score.session_id = session_id
        score.data_type = data_type
        score.comment = comment
        if trace.sampled:
            trace.tracer._emit(score)
    except Exception:
        log.debug("promptrail: score failed", exc_info=True)


class NoopObservation:
    """What every call returns while tracing is disabled: accepts everything, records nothing."""

    __slots__ = ()
    trace_id = None
    observation_id = None
    type = "span"
    name = ""

    def update(self, **fields: Any) -> NoopObservation:
        return self

    def update_trace(self, **attrs: Any) -> NoopObservation:
        return self

    def record_exception(self, exc: BaseException) -> None:
        pass

    def end(self, *, output: Any = None) -> None:
        pass

    def start_span(self, name: str, **fields: Any) -> NoopObservation:
        return self

    def start_generation(self, name: str, **fields: Any) -> NoopObservation:
        return self

    def event(self, name: str, **fields: Any) -> NoopObservation:
        return self

    def score(self, name: str, value: Any, **kwargs: Any) -> None:
        pass

    def score_trace(self, name: str, value: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> NoopObservation:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


NOOP = NoopObservation()
