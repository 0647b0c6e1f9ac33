"""Fixtures for the integrations: the tracer fixtures of tracers.py."""

from tracers import _no_global_tracer, fake_llm, memory

__all__ = ["_no_global_tracer", "fake_llm", "memory"]
