"""One error shape for every route: `ApiError` JSON with a message a person can act on.

Client mistakes are 4xx (bad input 400/422, keys 401/403, unknown things 404, stale plans
409, big bodies 413); an unexpected failure is a 500 with a short message and the
traceback only in the server's log, never in the response.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promptrail.api.registry import ApiError
from promptrail.errors import (
    ApiProblem,
    InvalidRequest,
    NotFound,
    SchemaError,
    StoreConflict,
    UsageError,
)

log = logging.getLogger("promptrail.server")


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    data = {"error": code, "message": message, "details": details or []}
    return json.dumps(data, ensure_ascii=False, default=str).encode()


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        error_body(code, message, details),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _doc(description: str) -> dict[str, Any]:
    return {"model": ApiError, "description": description}


# Declared on every route so /openapi.json shows the error shape (not FastAPI's default).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("The request is malformed or contradicts itself; nothing was stored."),
    401: _doc("No API key, an unknown one, or a revoked one."),
    403: _doc("The API key lacks the scope this request needs."),
    404: _doc("No such prompt, label, version or key."),
    413: _doc("The body is larger than the server accepts (--max-body-size)."),
    422: _doc("The body or a parameter does not match the schema; the message names it."),
    429: _doc("Too many wrong API keys from this address; see Retry-After."),
}
CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: _doc(
        "The registry changed since the plan was made, or a version exists with other "
        "content; nothing was applied."
    ),
}

STATUS_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _problem)
    app.add_exception_handler(StoreConflict, _store_error(409))
    app.add_exception_handler(InvalidRequest, _store_error(400))
    app.add_exception_handler(NotFound, _store_error(404))
    app.add_exception_handler(SchemaError, _schema)
    app.add_exception_handler(UsageError, _store_error(400))
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(AnswerUnexpected, owner=app)


class AnswerUnexpected:
    """Answers an unexpected exception with the 500 of the `Exception` handler and stops it.

    Starlette hands that handler to its outermost middleware, which answers and then
    raises again, and the server then drops the keep-alive connection, so the client's
    next request on it fails. Caught here, the error is answered like any other and the
    connection stays usable. (Once an answer has started nothing can be sent instead.)
    """

    def __init__(self, app: ASGIApp, owner: FastAPI):
        self.app, self.owner = app, owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            handler: Any = self.owner.exception_handlers.get(Exception, _unexpected)
            response: Response = await handler(Request(scope), exc)
            await response(scope, receive, send)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def _store_error(status: int) -> Any:
    async def handler(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "code", STATUS_CODES.get(status, "invalid"))
        return error_response(status, code, str(exc), getattr(exc, "details", None))

    return handler


async def _schema(request: Request, exc: Exception) -> Response:
    return error_response(503, "schema", str(exc))


async def _database_down(request: Request, exc: Exception) -> Response:
    log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503, "unavailable", "the registry's database is unreachable or busy; try again shortly"
    )


async def _unstorable(request: Request, exc: Exception) -> Response:
    # A last line behind the request models' checks (api/inputs.py): a value the database
    # refuses is the request's fault. The statement's parameters stay out of the log.
    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
    log.warning("database refused a value on %s %s: %s", request.method, request.url.path, reason)
    return error_response(400, "invalid", f"a value in this request cannot be stored: {reason}")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    path = request.scope["path"]  # (request.url drops newlines and tabs)
    if status == 404 and any(ord(c) < 32 or ord(c) == 127 for c in path):
        # Routes never match across a newline; say what is wrong rather than "no route".
        return error_response(
            400, "invalid", f"invalid path {path!r}: names cannot contain control characters"
        )
    code = STATUS_CODES.get(status, "error")
    if status == 404:
        # Not `not_found`: clients evict a cached prompt only on the registry's answer that
        # it does not exist, never because a request went to the wrong place.
        code = "no_route"
        message = f"no route {request.method} {path}; the API is listed at /docs"
    elif status == 405:
        message = f"{request.method} is not allowed on {path}"
        # Starlette names the methods of the first route that matched the path only.
        headers = dict(exc.headers or {})
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
        return error_response(status, STATUS_CODES[405], message, None, headers)
    elif status == 413:
        message = str(exc.detail)
    else:
        message = str(exc.detail)
    return error_response(status, code, message, None, dict(exc.headers or {}))


def _allowed_methods(request: Request, fallback: str) -> str:
    """Every method the OpenAPI document has for this path (Starlette names only those of
    the first route that matched it); `fallback` for paths it does not list (pages)."""
    path = request.scope["path"]
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        # Any parameter may hold slashes: prompt names are paths.
        pattern = re.sub(r"\\\{[^}]+\\\}", ".+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {method.upper() for method in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) if methods else fallback


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [_detail(error) for error in exc.errors()]
    lines = [d["message"] for d in details[:10]]
    more = f" (and {len(details) - 10} more)" if len(details) > 10 else ""
    return error_response(422, "invalid", "; ".join(lines) + more, details)


def _detail(error: dict[str, Any]) -> dict[str, Any]:
    loc = [str(part) for part in error.get("loc", ())]
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "invalid JSON")
        where = loc[1] if len(loc) > 1 else "?"
        return {
            "field": "body",
            "message": f"the body is not valid JSON: {reason} (at character {where})",
        }
    source = loc[0] if loc else "request"
    path = ".".join(loc[1:])
    what = {"body": "body", "query": "query parameter", "path": "path parameter"}.get(
        source, source
    )
    field = f"{what} {path}".strip() if path else what
    message = f"{field}: {error.get('msg', 'invalid')}"
    if source == "body" and not path and kind in ("model_attributes_type", "dict_type"):
        message += " (send a JSON object with Content-Type: application/json)"
    elif "input" in error and not isinstance(error["input"], dict | list):
        shown = repr(error["input"])
        message += f" (got {shown[:60]})"
    return {"field": field, "message": message, "type": kind}


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(
        500, "internal", "the server failed on this request (the details are in its log)"
    )
