"""The web UI, served at `/`: pages rendered on the server from the same queries as the API.

Views are split by page family (`prompts`, `traces`, `sessions`, `users`, `dashboard`),
templates live in `server/templates/` (partials start with `_`), and the one stylesheet
and script in `server/static/`. `install(app)` adds it all to the registry's app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from promptrail.server.ui import (
    auth,
    dashboard,
    errors,
    evaluation,
    generations,
    prompts,
    sessions,
    traces,
    users,
)
from promptrail.server.ui.headers import SecurityHeaders

STATIC = Path(__file__).resolve().parent.parent / "static"
ROUTERS = [
    auth.router,
    dashboard.router,
    prompts.router,
    traces.router,
    generations.router,
    sessions.router,
    users.router,
    evaluation.router,
]


def install(app: FastAPI) -> None:
    """Add the pages, the static files and the HTML error pages to `app`."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Browsers ask for /favicon.ico on their own, before (or without) reading the page.
    app.add_api_route(
        "/favicon.ico",
        lambda: RedirectResponse("/static/favicon.svg", status_code=308),
        include_in_schema=False,
    )
    errors.install(app)
    app.add_middleware(SecurityHeaders)
