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
from promptrail.tracing.propagation import continue_trace, extract, inject
from promptrail.tracing.tracer import Tracer, configure, get_tracer

_EXPORTERS = ("HttpExporter", "JsonlExporter", "MemoryExporter")
_OTLP = ("OtlpExporter", "FanoutExporter")


def __getattr__(name: str) -> Any:
    if name in _EXPORTERS:  # loaded on demand: they are not needed to record spans
        from promptrail.tracing import exporter

        return getattr(exporter, name)
    if name in _OTLP:
        from promptrail.tracing import otlp

        return getattr(otlp, name)
    raise AttributeError(f"module 'promptrail.tracing' has no attribute {name!r}")


__all__ = [
    "FanoutExporter",
    "HttpExporter",
    "JsonlExporter",
    "MemoryExporter",
    "Observation",
    "OtlpExporter",
    "Tracer",
    "configure",
    "continue_trace",
    "event",
    "extract",
    "flush",
    "get_current_observation_id",
    "get_current_trace_id",
    "get_tracer",
    "inject",
    "observe",
    "score",
    "start_generation",
    "start_span",
    "update_current_observation",
    "update_current_trace",
]
