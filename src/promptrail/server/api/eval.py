"""Evaluation routes: dataset versions (written by publish) and runs (written by `eval`).

Recording a run needs the `ingest` scope (the key CI already uses for traces); reading
needs `read`. A run is stored as sent and served back unchanged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from promptrail.api.eval import (
    DatasetList,
    DatasetVersion,
    DatasetVersionList,
    RunComparison,
    RunCreated,
    RunList,
    RunResult,
)
from promptrail.api.registry import MAX_VERSION
from promptrail.server.auth import Principal, require_scope
from promptrail.server.errors import CONFLICT_RESPONSE, ERROR_RESPONSES
from promptrail.server.state import registry_of

router = APIRouter(prefix="/api/v1", tags=["evaluation"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Ingester = Annotated[Principal, Depends(require_scope("ingest"))]


@router.get(
    "/datasets", response_model=DatasetList, responses=ERROR_RESPONSES, summary="Every dataset"
)
async def list_datasets(request: Request, _: Reader) -> DatasetList:
    return await run_in_threadpool(registry_of(request).store.list_datasets)


@router.get(
    "/dataset-versions/{name:path}",
    response_model=DatasetVersionList,
    responses=ERROR_RESPONSES,
    summary="Every stored version of a dataset, newest first (without items)",
)
async def dataset_versions(request: Request, name: str, _: Reader) -> DatasetVersionList:
    return await run_in_threadpool(registry_of(request).store.dataset_history, name)


@router.get(
    "/datasets/{name:path}",
    response_model=DatasetVersion,
    responses=ERROR_RESPONSES,
    summary="One dataset version with its items: the latest, or by `version` or `hash`",
)
async def get_dataset(
    request: Request,
    name: str,
    _: Reader,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    hash: Annotated[str | None, Query(max_length=64)] = None,
) -> DatasetVersion:
    store = registry_of(request).store
    return await run_in_threadpool(lambda: store.get_dataset(name, version=version, hash=hash))


@router.post(
    "/runs",
    response_model=RunCreated,
    status_code=201,
    responses={**ERROR_RESPONSES, **CONFLICT_RESPONSE},
    summary="Record a run (`promptrail eval` does it when a registry is configured)",
)
async def create_run(request: Request, body: RunResult, principal: Ingester) -> RunCreated:
    store = registry_of(request).store
    return await run_in_threadpool(store.create_run, body, principal.key_id)


@router.get(
    "/runs",
    response_model=RunList,
    responses=ERROR_RESPONSES,
    summary="Runs, newest first, by prompt (and version) and/or dataset",
)
async def list_runs(
    request: Request,
    _: Reader,
    prompt: str | None = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    dataset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    prompt_hash: Annotated[str | None, Query(max_length=64)] = None,
    dataset_hash: Annotated[str | None, Query(max_length=64)] = None,
) -> RunList:
    store = registry_of(request).store
    by_content = {"prompt_hash": prompt_hash, "dataset_hash": dataset_hash}
    return await run_in_threadpool(
        lambda: store.list_runs(
            prompt=prompt, version=version, dataset=dataset, limit=limit, **by_content
        )
    )


@router.get(
    "/runs/compare",
    response_model=RunComparison,
    responses=ERROR_RESPONSES,
    summary="Two runs item by item: score deltas, changed verdicts first",
)
async def compare_runs(request: Request, base: str, head: str, _: Reader) -> RunComparison:
    store = registry_of(request).store
    return await run_in_threadpool(store.compare_runs, base, head)


@router.get(
    "/runs/{run_id}",
    response_model=RunResult,
    responses=ERROR_RESPONSES,
    summary="One run, exactly as recorded",
)
async def get_run(request: Request, run_id: str, _: Reader) -> RunResult:
    return await run_in_threadpool(registry_of(request).store.get_run, run_id)
