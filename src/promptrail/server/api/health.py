"""`GET /api/v1/health`: 200 when the process is up and its database answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from promptrail import __version__
from promptrail.api.registry import Health
from promptrail.errors import ApiProblem
from promptrail.server.state import registry_of

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"description": "The database does not answer."}},
    summary="Liveness and database reachability (no key needed)",
)
async def health(request: Request) -> Health:
    registry = registry_of(request)
    try:
        await run_in_threadpool(registry.store.revision)
    except Exception as exc:
        raise ApiProblem(503, "unavailable", f"the database does not answer: {exc}") from None
    return Health(
        version=__version__,
        database=registry.store.backend,
        schema_revision=registry.schema_revision,
        auth=registry.settings.auth,
    )
