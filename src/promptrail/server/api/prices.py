"""Model prices: list the table in force (shipped, file, API), add and delete API prices.

Prices added here win over the shipped table and a `--prices` file; they apply to
generations ingested from then on (cost is computed at ingest, not recomputed).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from promptrail.api.tracing import ModelPrice, ModelPriceCreate, ModelPriceList
from promptrail.server.api.ingest import pricing_of
from promptrail.server.auth import Principal, require_scope
from promptrail.server.errors import ERROR_RESPONSES
from promptrail.server.state import registry_of
from promptrail.store.prices import add_price, delete_price

router = APIRouter(prefix="/api/v1/model-prices", tags=["tracing"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Admin = Annotated[Principal, Depends(require_scope("admin"))]


@router.get(
    "",
    response_model=ModelPriceList,
    responses=ERROR_RESPONSES,
    summary="Every model price in force, highest priority first (api, file, builtin)",
)
async def list_prices(request: Request, _: Reader) -> ModelPriceList:
    pricing = pricing_of(request)
    table = await run_in_threadpool(pricing.table)
    return ModelPriceList(data=[ModelPrice(**p.as_dict()) for p in table.prices])


@router.post(
    "",
    response_model=ModelPrice,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Add a model price (USD per token); same model and date replaces it",
)
async def create_price(request: Request, body: ModelPriceCreate, _: Admin) -> ModelPrice:
    store = registry_of(request).store

    def run() -> ModelPrice:
        with store.engine.connect() as conn, conn.begin():
            return ModelPrice(**add_price(conn, body).as_dict())

    created = await run_in_threadpool(run)
    pricing_of(request).invalidate()
    return created


@router.delete(
    "/{price_id}",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Delete a price added through the API",
)
async def remove_price(
    request: Request, price_id: Annotated[int, Path(ge=1, le=2**31 - 1)], _: Admin
) -> None:
    store = registry_of(request).store

    def run() -> None:
        with store.engine.connect() as conn, conn.begin():
            delete_price(conn, price_id)

    await run_in_threadpool(run)
    pricing_of(request).invalidate()
