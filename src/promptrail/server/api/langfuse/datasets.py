"""Datasets in Langfuse's shapes: create and get a dataset, create and list its items,
dataset run items (SDK v4 and earlier; v5 marks experiment spans instead, see
`store/langfuse_datasets.py`). The data lives in promptrail's dataset versions and eval
runs, so the runs show in promptrail's eval pages beside `promptrail eval` runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, ValidationError
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptrail.api.eval import DatasetItem, DatasetVersion
from promptrail.api.langfuse import PROJECT_ID, LfBody
from promptrail.errors import ApiProblem
from promptrail.repo.spec import is_valid_name
from promptrail.server.api.langfuse.common import (
    PREFIX,
    TAGS,
    Ingester,
    Limit,
    Page,
    Reader,
    json_response,
    page_meta,
)
from promptrail.server.auth import Principal, require_scope
from promptrail.server.state import read, registry_of
from promptrail.store import langfuse_datasets as lfd
from promptrail.store.runs import get_dataset as stored_dataset
from promptrail.store.runs import list_datasets

router = APIRouter(prefix=PREFIX, tags=TAGS)
Publisher = Annotated[Principal, Depends(require_scope("publish"))]


class DatasetCreate(LfBody):
    name: str
    description: str | None = None
    metadata: Any = None


class ItemCreate(LfBody):
    dataset_name: str
    id: str | None = Field(default=None, max_length=200)
    input: Any = None
    expected_output: Any = None
    metadata: Any = None
    source_trace_id: str | None = None
    source_observation_id: str | None = None


class RunItemCreate(LfBody):
    run_name: str
    run_description: str | None = None
    dataset_item_id: str
    trace_id: str | None = None
    observation_id: str | None = None


def _dataset(version: DatasetVersion) -> dict[str, Any]:
    return {
        "id": version.name,  # names are unique: the name is the id
        "name": version.name,
        "description": version.description,
        "metadata": None,
        "projectId": PROJECT_ID,
        "createdAt": version.created_at,
        "updatedAt": version.created_at,
        "inputSchema": None,
        "expectedOutputSchema": None,
    }


def _item(name: str, item: DatasetItem, at: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": "ACTIVE",
        "input": item.input,
        "expectedOutput": item.expected,
        "metadata": item.metadata or None,
        "sourceTraceId": None,
        "sourceObservationId": None,
        "datasetId": name,
        "datasetName": name,
        "createdAt": at,
        "updatedAt": at,
        "version": None,
        "mediaReferences": [],
    }


async def _body(request: Request, model: type[LfBody]) -> Any:
    try:
        return model.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        raise ApiProblem(400, "invalid", f"invalid {model.__name__} body: {exc}") from None


def _check_name(name: str) -> None:
    if not is_valid_name(name):
        raise ApiProblem(
            400,
            "invalid",
            f"invalid dataset name {name!r}: lowercase letters, digits, '-', '_' and '.', "
            "with '/' between folders (datasets live in git as datasets/<name>.yaml)",
        )


@router.post("/v2/datasets", summary="Create a dataset (stored outside git: plan --check says so)")
async def create_dataset(request: Request, _: Publisher) -> Response:
    body: DatasetCreate = await _body(request, DatasetCreate)
    _check_name(body.name)
    store = registry_of(request).store

    def work() -> DatasetVersion:
        with store.write() as conn:
            found = lfd.latest(conn, body.name)
            if found is not None:
                return found
            return lfd.save_version(conn, body.name, body.description, [])

    return json_response(_dataset(await run_in_threadpool(work)))


@router.get("/v2/datasets/{name:path}", summary="A dataset (its newest version)")
async def get_dataset(request: Request, name: str, _: Reader) -> Response:
    def query(conn: Connection) -> DatasetVersion:
        return stored_dataset(conn, name)

    return json_response(_dataset(await read(request, query)))


@router.get("/v2/datasets", summary="List datasets")
async def datasets(request: Request, _: Reader, page: Page = 1, limit: Limit = 50) -> Response:
    def query(conn: Connection) -> dict[str, Any]:
        found = list_datasets(conn).datasets
        chosen = found[(page - 1) * limit : page * limit]
        data = [_dataset(stored_dataset(conn, info.name)) for info in chosen]
        return {"data": data, "meta": page_meta(page, limit, len(found))}

    return json_response(await read(request, query))


@router.post("/dataset-items", summary="Create (or replace by id) a dataset item")
async def create_item(request: Request, _: Publisher) -> Response:
    body: ItemCreate = await _body(request, ItemCreate)
    store = registry_of(request).store
    metadata = (
        body.metadata
        if isinstance(body.metadata, dict)
        else ({} if body.metadata is None else {"value": body.metadata})
    )
    item = DatasetItem(
        id=body.id or lfd.new_item_id(),
        input=body.input,
        expected=body.expected_output,
        metadata=metadata,
    )

    def work() -> DatasetVersion:
        with store.write() as conn:
            found = lfd.latest(conn, body.dataset_name)
            if found is None:
                raise ApiProblem(
                    404, "not_found", f"no dataset {body.dataset_name!r}: create it first"
                )
            items = [old for old in found.items if old.id != item.id] + [item]
            return lfd.save_version(conn, found.name, found.description, items)

    saved = await run_in_threadpool(work)
    return json_response(_item(saved.name, item, saved.created_at))


@router.get("/dataset-items", summary="List the items of a dataset")
async def items(
    request: Request,
    _: Reader,
    dataset_name: Annotated[str, Query(alias="datasetName")],
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    def query(conn: Connection) -> dict[str, Any]:
        found = stored_dataset(conn, dataset_name)
        chosen = found.items[(page - 1) * limit : page * limit]
        data = [_item(found.name, item, found.created_at) for item in chosen]
        return {"data": data, "meta": page_meta(page, limit, len(found.items))}

    return json_response(await read(request, query))


@router.get("/dataset-items/{item_id}", summary="One dataset item")
async def item(request: Request, item_id: str, _: Reader) -> Response:
    found = await read(request, lfd.find_item, item_id)
    if found is None:
        raise ApiProblem(404, "not_found", f"no dataset item {item_id!r}")
    name, value, at = found
    return json_response(_item(name, value, at))


@router.post("/dataset-run-items", summary="Link a trace to a dataset item in a run (SDK v4)")
async def create_run_item(request: Request, _: Ingester) -> Response:
    body: RunItemCreate = await _body(request, RunItemCreate)
    trace_id = body.trace_id
    if trace_id is None:
        raise ApiProblem(400, "invalid", "a dataset run item needs traceId")
    store = registry_of(request).store

    def work() -> dict[str, Any]:
        with store.write(bump=False) as conn:
            found = lfd.find_item(conn, body.dataset_item_id)
            if found is None:
                raise ApiProblem(404, "not_found", f"no dataset item {body.dataset_item_id!r}")
            dataset = found[0]
            run_id = lfd.experiment_run_id(dataset, body.run_name)
            traces: dict[str, str] = lfd.run_items(conn, run_id)
            traces[trace_id] = body.dataset_item_id
            lfd.record_run(conn, run_id, body.run_name, dataset, traces, body.run_description)
        return {
            "id": f"{run_id}:{body.dataset_item_id}",
            "datasetRunId": run_id,
            "datasetRunName": body.run_name,
            "datasetItemId": body.dataset_item_id,
            "traceId": body.trace_id,
            "observationId": body.observation_id,
            "createdAt": None,
            "updatedAt": None,
        }

    return json_response(await run_in_threadpool(work))
