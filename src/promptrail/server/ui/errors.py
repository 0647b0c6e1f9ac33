"""Error pages: the API's handlers answer JSON under /api/; a browser elsewhere gets HTML.

`install` wraps every handler `server/errors.py` registered: on an API path (or the
OpenAPI documents) its JSON answer goes out untouched; anywhere else the same status and
message come back as a page. The message is the one the API would give (a 500 says the
details are in the server's log; no traceback ever reaches the page).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from promptrail.errors import LoginRequired, Refused
from promptrail.server.auth import ANYONE
from promptrail.server.state import registry_of
from promptrail.server.ui.auth import Viewer, login_redirect
from promptrail.server.ui.common import render

Handler = Callable[[Request, Exception], Awaitable[Response]]
API_PREFIXES = ("/api/", "/openapi.json", "/docs", "/redoc", "/v1/traces")  # OTLP
TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Server error",
    503: "Unavailable",
}


def is_api(request: Request) -> bool:
    path: str = request.scope["path"]
    return path.startswith(API_PREFIXES) or path == "/api"


def error_page(request: Request, status: int, message: str) -> Response:
    title = TITLES.get(status, "Error")
    if not hasattr(request.state, "viewer") and not registry_of(request).settings.auth:
        request.state.viewer = Viewer(ANYONE, logged_in=False)  # the menu, as on any page
    return render(request, "error.html", status=status, code=status, title=title, message=message)


def _html_unless_api(handler: Handler) -> Handler:
    async def wrapped(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if is_api(request):
            return response
        status = response.status_code
        if isinstance(exc, HTTPException) and status == 404:
            message = f"There is no page at {request.scope['path']}."
        else:
            try:
                message = json.loads(bytes(response.body))["message"]
            except (ValueError, KeyError, TypeError):
                message = "The server could not answer this request."
        return error_page(request, status, message)

    return wrapped


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return login_redirect(exc)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return error_page(request, 403, exc.message)


def install(app: FastAPI) -> None:
    handlers: dict[Any, Any] = app.exception_handlers  # Starlette types them loosely
    for key, handler in list(handlers.items()):
        handlers[key] = _html_unless_api(handler)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Refused, _refused)
