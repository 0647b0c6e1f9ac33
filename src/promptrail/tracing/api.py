"""Module-level tracing calls, each acting on the process-wide tracer (see `tracer.py`)."""

from __future__ import annotations

from typing import Any

from promptrail.tracing.observation import NoopObservation, Observation
from promptrail.tracing.tracer import get_tracer


def start_span(name: str, *, input: Any = None, **fields: Any) -> Observation | NoopObservation:
    """`with start_span("lookup") as span:` — a span under the current observation."""
    return get_tracer().start_span(name, input=input, **fields)


def start_generation(
    name: str,
    *,
    model: str | None = None,
    model_parameters: dict[str, Any] | None = None,
    input: Any = None,
    prompt: Any = None,
    **fields: Any,
) -> Observation | NoopObservation:
    """`with start_generation("draft", model=..., prompt=fetched) as gen:` then gen.update(...)."""
    return get_tracer().start_generation(
        name, model=model, model_parameters=model_parameters, input=input, prompt=prompt, **fields
    )


def event(name: str, *, input: Any = None, **fields: Any) -> None:
    get_tracer().event(name, input=input, **fields)


def update_current_trace(**attrs: Any) -> None:
    """Set user_id, session_id, tags, metadata, release, environment (or name/input/output)."""
    get_tracer().update_current_trace(**attrs)


def update_current_observation(**fields: Any) -> None:
    """Set output, usage, metadata, level, status_message, model, cost or prompt."""
    get_tracer().update_current_observation(**fields)


def score(
    name: str,
    value: float | bool | str,
    *,
    trace_id: str | None = None,
    observation_id: str | None = None,
    session_id: str | None = None,
    data_type: str | None = None,
    comment: str | None = None,
) -> None:
    """A score on the current trace, or on the trace/observation/session given by id."""
    get_tracer().score(
        name,
        value,
        trace_id=trace_id,
        observation_id=observation_id,
        session_id=session_id,
        data_type=data_type,
        comment=comment,
    )


def flush(timeout: float | None = 5.0) -> bool:
    """Wait (at most `timeout` seconds) until everything recorded so far is delivered."""
    return get_tracer().flush(timeout)
