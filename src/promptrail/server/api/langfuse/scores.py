"""Scores in Langfuse's shapes: create (one, or a batch as SDK v5 sends), list (v2 pages,
v3 cursors) and read one; numeric, boolean and categorical, on traces, observations and
sessions. They are stored as promptrail scores, so promptrail's own API and UI show them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptrail.api.inputs import as_utc
from promptrail.api.langfuse import LF_DATA_TYPES, ScoreCreate, score_v2, score_v3
from promptrail.errors import ApiProblem
from promptrail.server.api.ingest import pricing_of
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
from promptrail.server.state import read, registry_of
from promptrail.store.ingest import new_score_id, store_events
from promptrail.store.langfuse_datasets import record_for_traces
from promptrail.store.trace_queries import ScoreFilter, get_score, list_scores

router = APIRouter(prefix=PREFIX, tags=TAGS)
SOURCES = {"API": "api", "ANNOTATION": "annotation", "EVAL": "sdk"}


def _events(raw: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    events, errors = [], []
    for index, item in enumerate(raw):
        try:
            score = ScoreCreate.model_validate(item)
        except ValidationError as exc:
            errors.append({"message": f"score {index}: {exc.errors()[0]['msg']}"})
            continue
        body = score.native()
        body["id"] = body["id"] or new_score_id()
        events.append({"id": f"score-{body['id']}", "type": "score-create", "body": body})
    return events, errors


@router.post("/scores", summary="Create scores (one object, or a list as SDK v5 sends)")
async def create_scores(request: Request, _: Ingester) -> Response:
    try:
        doc = await request.json()
    except ValueError:
        raise ApiProblem(400, "invalid", "the body is not valid JSON") from None
    single = isinstance(doc, dict)
    if not single and not isinstance(doc, list):
        raise ApiProblem(400, "invalid", "expected a score object or a list of them")
    events, errors = _events([doc] if single else doc)
    registry, pricing = registry_of(request), pricing_of(request)
    if events:
        result = await run_in_threadpool(
            lambda: store_events(registry.store.engine, pricing.table(), events)
        )
        errors += [{"message": error.message} for error in result.errors]
        traces = sorted({e["body"]["trace_id"] for e in events if e["body"]["trace_id"]})
        await run_in_threadpool(record_for_traces, registry.store, traces)
    if single:
        if errors:
            raise ApiProblem(400, "invalid", errors[0]["message"])
        return json_response({"id": events[0]["body"]["id"]})
    if errors:
        accepted = len(doc) - len(errors)
        body = {"accepted": accepted, "rejected": len(errors), "errors": errors}
        return json_response(body, 207)
    return json_response({"message": "Accepted"}, 202)


def _filter(
    trace_id: Annotated[str | None, Query(alias="traceId")] = None,
    observation_id: Annotated[str | None, Query(alias="observationId")] = None,
    session_id: Annotated[str | None, Query(alias="sessionId")] = None,
    user_id: Annotated[str | None, Query(alias="userId")] = None,
    name: str | None = None,
    source: str | None = None,
    data_type: Annotated[str | None, Query(alias="dataType")] = None,
    from_timestamp: Annotated[datetime | None, Query(alias="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Query(alias="toTimestamp")] = None,
) -> ScoreFilter:
    """The filters both score listings take, in Langfuse's parameter names."""
    return ScoreFilter(
        trace_id=trace_id,
        observation_id=observation_id,
        session_id=session_id,
        name=name,
        source=SOURCES.get(source.upper()) if source else None,
        data_type=LF_DATA_TYPES.get(data_type.upper()) if data_type else None,
        user_id=user_id,
        start=as_utc(from_timestamp),
        end=as_utc(to_timestamp),
    )


Filters = Annotated[ScoreFilter, Depends(_filter)]


@router.get("/v2/scores", summary="List scores (Langfuse v2 shape, paged)")
async def scores_v2(
    request: Request, _: Reader, where: Filters, page: Page = 1, limit: Limit = 50
) -> Response:
    found = await read(request, list_scores, where, page, limit)
    data = [score_v2(score) for score in found.data]
    return json_response({"data": data, "meta": page_meta(page, limit, found.meta.total_items)})


@router.get("/v2/scores/{score_id}", summary="One score (Langfuse v2 shape)")
async def score_one(request: Request, score_id: str, _: Reader) -> Response:
    return json_response(score_v2(await read(request, get_score, score_id)))


@router.get("/v3/scores", summary="List scores (Langfuse v3 shape, cursor pages)")
async def scores_v3(
    request: Request,
    _: Reader,
    where: Filters,
    limit: Limit = 50,
    cursor: str | None = None,
    id: str | None = None,
) -> Response:
    if id is not None:
        one = score_v3(await read(request, get_score, id))
        return json_response({"data": [one], "meta": {"limit": limit}})
    page = int(cursor) if cursor and cursor.isdigit() else 1  # the cursor is a page number
    found = await read(request, list_scores, where, page, limit)
    meta: dict[str, Any] = {"limit": limit}
    if page < found.meta.total_pages:
        meta["cursor"] = str(page + 1)
    return json_response({"data": [score_v3(s) for s in found.data], "meta": meta})
