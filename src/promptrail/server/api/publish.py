"""The registry state a plan is made against, and publishing a plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from promptrail.api.registry import PublishRequest, PublishResult, RegistryState
from promptrail.server.auth import Principal, forbidden, require_scope
from promptrail.server.errors import CONFLICT_RESPONSE, ERROR_RESPONSES
from promptrail.server.state import Registry, registry_of
from promptrail.store import publish as publishing

router = APIRouter(prefix="/api/v1", tags=["publish"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Publisher = Annotated[Principal, Depends(require_scope("publish"))]


class StateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[str] = Field(
        description="Only these prompts (names the registry lacks are left out)."
    )


def _state(registry: Registry, names: list[str] | None) -> RegistryState:
    return registry.store.state(
        names,
        protected_labels=list(registry.settings.protected_labels),
        preview_prefix=registry.settings.preview_prefix,
    )


@router.get(
    "/state",
    response_model=RegistryState,
    responses=ERROR_RESPONSES,
    summary="Everything a plan needs, in one request: versions, labels, tags, previews",
)
async def get_state(
    request: Request,
    _: Reader,
    names: Annotated[
        list[str] | None,
        Query(description="Only these prompts; repeat the parameter or separate with commas."),
    ] = None,
) -> RegistryState:
    wanted = None if names is None else [n for part in names for n in part.split(",") if n]
    return await run_in_threadpool(_state, registry_of(request), wanted)


@router.post(
    "/state",
    response_model=RegistryState,
    responses=ERROR_RESPONSES,
    summary="The state of many prompts (a list too long for a query string)",
)
async def post_state(request: Request, query: StateQuery, _: Reader) -> RegistryState:
    return await run_in_threadpool(_state, registry_of(request), query.names)


def _publish(registry: Registry, body: PublishRequest, principal: Principal) -> PublishResult:
    checked = publishing.check(body, registry.policy)
    if checked.protected and not principal.has("deploy"):
        moved = ", ".join(sorted({f"{m.label} of {m.name}" for m in checked.protected})[:5])
        raise forbidden(principal, "deploy", f"moving protected labels ({moved})")
    return registry.store.publish(body, registry.policy, key_id=principal.key_id, checked=checked)


@router.post(
    "/publish",
    response_model=PublishResult,
    responses={**ERROR_RESPONSES, **CONFLICT_RESPONSE},
    summary="Apply a plan in one transaction, if the registry still matches its preconditions",
)
async def publish(request: Request, body: PublishRequest, principal: Publisher) -> PublishResult:
    registry = registry_of(request)
    result = await run_in_threadpool(_publish, registry, body, principal)
    if result.revision is not None and not body.dry_run:
        registry.advance(result.revision)
    return result
