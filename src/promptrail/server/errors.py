"""One error shape for every route: `ApiError` JSON with a message a person can act on.

Client mistakes are 4xx (bad input 400/422, keys 401/403, unknown things 404, stale plans
409, big bodies 413); an unexpected failure is a 500 with a short message and the
traceback only in the server's log, never in the response.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response

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
    app.add_exception_handler(Exception, _unexpected)


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


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    path = request.scope["path"]  # (request.url drops newlines and tabs)
    if status == 404 and any(ord(c) < 32 or ord(c) == 127 for c in path):
        # Routes never match across a newline; say what is wrong rather than "no route".
        return error_response(
            400, "invalid", f"invalid path {path!r}: names cannot contain control characters"
        )
    if status == 404:
        message = f"no route {request.method} {path}; the API is listed at /docs"
    elif status == 405:
        message = f"{request.method} is not allowed on {path}"
    elif status == 413:
        message = str(exc.detail)
    else:
        message = str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(status, STATUS_CODES.get(status, "error"), message, None, headers)


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
