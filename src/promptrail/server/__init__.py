"""The registry server: `create_app(settings)` and the settings it takes.

Imported only by `promptrail serve` and tests; `import promptrail` never loads FastAPI.
"""

from __future__ import annotations

from promptrail.server.app import RegistryApp, app_from_env, create_app
from promptrail.server.settings import Settings

__all__ = ["RegistryApp", "Settings", "app_from_env", "create_app"]
