"""Managing API keys through the API (admin scope); `promptrail keys` uses it remotely."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from promptrail.api.registry import KeyCreate, KeyCreated, KeyInfo, KeyList
from promptrail.server.auth import Principal, require_scope
from promptrail.server.errors import ERROR_RESPONSES
from promptrail.server.state import Registry, registry_of

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])
Admin = Annotated[Principal, Depends(require_scope("admin"))]


@router.get("", response_model=KeyList, responses=ERROR_RESPONSES, summary="List API keys")
async def list_keys(request: Request, _: Admin) -> KeyList:
    keys = await run_in_threadpool(registry_of(request).store.list_keys)
    return KeyList(keys=keys)


@router.post(
    "",
    response_model=KeyCreated,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create an API key; its secret is in this response only",
)
async def create_key(request: Request, body: KeyCreate, _: Admin) -> KeyCreated:
    registry = registry_of(request)
    created = await run_in_threadpool(
        registry.store.create_key, list(body.scopes), body.description, body.pair
    )
    await _refresh(registry)
    return created


@router.delete(
    "/{key_id}",
    response_model=KeyInfo,
    responses=ERROR_RESPONSES,
    summary="Revoke an API key (it stays listed, marked revoked)",
)
async def revoke_key(
    request: Request, key_id: Annotated[int, Path(ge=1, le=2**31 - 1)], _: Admin
) -> KeyInfo:
    registry = registry_of(request)
    revoked = await run_in_threadpool(registry.store.revoke_key, key_id)
    await _refresh(registry)
    return revoked


async def _refresh(registry: Registry) -> None:
    # A revoked key must stop working in this process now, not at the next poll.
    registry.advance(await run_in_threadpool(registry.store.revision))
