"""Health and the project behind the keys: what `Langfuse().auth_check()` calls."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from promptrail import __version__
from promptrail.api.langfuse import PROJECT_ID
from promptrail.server.api.langfuse.common import PREFIX, TAGS, AnyKey, json_response

router = APIRouter(prefix=PREFIX, tags=TAGS)


@router.get("/health", summary="Langfuse-compatible health check")
async def health() -> Response:
    return json_response({"status": "OK", "version": __version__})


@router.get("/projects", summary="The one project a promptrail key pair belongs to")
async def projects(_: AnyKey) -> Response:
    project = {
        "id": PROJECT_ID,
        "name": "promptrail",
        "metadata": {},
        "organization": {"id": PROJECT_ID, "name": "promptrail"},
    }
    return json_response({"data": [project]})
