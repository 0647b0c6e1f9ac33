"""promptrail: prompts as YAML in git, a registry, a runtime client and a tracer.

`import promptrail` stays light: the client and tracer are imported on first use, and
nothing here pulls in the server, SQLAlchemy or FastAPI.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it; resolved on first attribute access.
_LAZY: dict[str, str] = {
    "AsyncClient": "promptrail.client._async",
    "ChatPrompt": "promptrail.client",
    "Client": "promptrail.client",
    "TextPrompt": "promptrail.client",
    "Conflict": "promptrail.errors",
    "MissingVariable": "promptrail.errors",
    "PromptFileError": "promptrail.errors",
    "PromptNotFound": "promptrail.errors",
    "PromptrailError": "promptrail.errors",
    "RegistryError": "promptrail.errors",
    "RegistryUnavailable": "promptrail.errors",
    "TemplateError": "promptrail.errors",
    "Tracer": "promptrail.tracing",
    "configure": "promptrail.tracing",
    "event": "promptrail.tracing",
    "flush": "promptrail.tracing",
    "get_current_observation_id": "promptrail.tracing",
    "get_current_trace_id": "promptrail.tracing",
    "observe": "promptrail.tracing",
    "score": "promptrail.tracing",
    "start_generation": "promptrail.tracing",
    "start_span": "promptrail.tracing",
    "update_current_observation": "promptrail.tracing",
    "update_current_trace": "promptrail.tracing",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'promptrail' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
