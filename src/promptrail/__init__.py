"""promptrail: prompts as YAML in git, a registry, a runtime client and a tracer.

`import promptrail` stays light: the client and tracer are imported on first use, and
nothing here pulls in the server, SQLAlchemy or FastAPI.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it; resolved on first attribute access.
_LAZY: dict[str, str] = {
    "Conflict": "promptrail.errors",
    "MissingVariable": "promptrail.errors",
    "PromptFileError": "promptrail.errors",
    "PromptNotFound": "promptrail.errors",
    "PromptrailError": "promptrail.errors",
    "RegistryError": "promptrail.errors",
    "RegistryUnavailable": "promptrail.errors",
    "TemplateError": "promptrail.errors",
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
