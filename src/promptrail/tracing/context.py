"""The current observation, carried in a contextvar.

A contextvar follows asyncio tasks (each task starts with a copy of its creator's context)
and threads started through `contextvars.copy_context().run(...)`, so spans nest the way
the code does without passing anything around.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promptrail.tracing.observation import Observation

current: ContextVar[Observation | None] = ContextVar("promptrail_observation", default=None)
# A parent from outside this process (an incoming `traceparent`): (trace id, span id).
remote: ContextVar[tuple[int, int] | None] = ContextVar("promptrail_remote", default=None)


def outside_parent() -> tuple[int, int] | None:
    """Where a new root observation belongs when something outside promptrail is tracing:
    an extracted `traceparent` (see `propagation.py`), else the active OpenTelemetry span
    (only looked for when the application imported OpenTelemetry)."""
    found = remote.get()
    if found is not None:
        return found
    otel = sys.modules.get("opentelemetry.trace")
    if otel is not None:
        try:
            context = otel.get_current_span().get_span_context()
        except Exception:
            return None
        if context.is_valid:
            return context.trace_id, context.span_id
    return None


def trace_hex(trace_id: int) -> str:
    """Trace ids are 128-bit (32 hex digits, the W3C/OpenTelemetry width)."""
    return f"{trace_id:032x}"


def span_hex(observation_id: int) -> str:
    """Observation ids are 64-bit (16 hex digits)."""
    return f"{observation_id:016x}"


def get_current_trace_id() -> str | None:
    """The id of the trace being recorded here, to attach feedback or scores later."""
    obs = current.get()
    return None if obs is None else trace_hex(obs.trace.id)


def get_current_observation_id() -> str | None:
    obs = current.get()
    return None if obs is None else span_hex(obs.id)
