"""Tracing: traces, spans, generations and scores, exported off the caller's thread.

Only the standard library is imported here; httpx is loaded by the export thread, which
writes the compact wire format (`tracing.wire`); pydantic is the server side's only.
"""

from __future__ import annotations

from typing import Any

from promptrail.tracing.api import (
    event,
    flush,
    score,
    start_generation,
    start_span,
    update_current_observation,
    update_current_trace,
)
from promptrail.tracing.context import get_current_observation_id, get_current_trace_id
from promptrail.tracing.decorators import observe
from promptrail.tracing.observation import Observation
from promptrail.tracing.tracer import Tracer, configure, get_tracer

_EXPORTERS = ("HttpExporter", "JsonlExporter", "MemoryExporter")


def __getattr__(name: str) -> Any:
    if name in _EXPORTERS:  # loaded on demand: they are not needed to record spans
        from promptrail.tracing import exporter

        return getattr(exporter, name)
    raise AttributeError(f"module 'promptrail.tracing' has no attribute {name!r}")


__all__ = [
    "HttpExporter",
    "JsonlExporter",
    "MemoryExporter",
    "Observation",
    "Tracer",
    "configure",
    "event",
    "flush",
    "get_current_observation_id",
    "get_current_trace_id",
    "get_tracer",
    "observe",
    "score",
    "start_generation",
    "start_span",
    "update_current_observation",
    "update_current_trace",
]
