"""Reading traces and observations back in Langfuse's shapes, for the common calls of the
SDK's `api` client: a trace with its observations and scores, traces with filters (SDK v4
and earlier) and observations with filters (v2, cursor pages, as SDK v5 reads them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from promptrail.api.inputs import as_utc
from promptrail.api.langfuse import observation_body, trace_body, trace_full
from promptrail.server.api.langfuse.common import (
    PREFIX,
    TAGS,
    Limit,
    Page,
    Reader,
    json_response,
    page_meta,
)
from promptrail.server.state import read
from promptrail.store import langfuse as lf_queries
from promptrail.store.observation_queries import ObservationFilter, list_observations
from promptrail.store.trace_queries import (
    TraceFilter,
    get_trace,
    list_traces,
)

router = APIRouter(prefix=PREFIX, tags=TAGS)


@router.get("/traces/{trace_id}", summary="One trace with its observations and scores")
async def trace(request: Request, trace_id: str, _: Reader) -> Response:
    return json_response(trace_full(await read(request, get_trace, trace_id)))


@router.get("/traces", summary="List traces, newest first, with Langfuse's filters")
async def traces(
    request: Request,
    _: Reader,
    page: Page = 1,
    limit: Limit = 50,
    user_id: Annotated[str | None, Query(alias="userId")] = None,
    session_id: Annotated[str | None, Query(alias="sessionId")] = None,
    name: str | None = None,
    tags: Annotated[list[str] | None, Query()] = None,
    release: str | None = None,
    environment: Annotated[list[str] | None, Query()] = None,
    from_timestamp: Annotated[datetime | None, Query(alias="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Query(alias="toTimestamp")] = None,
) -> Response:
    where = TraceFilter(
        user_id=user_id,
        session_id=session_id,
        name=name,
        tags=tags or [],
        release=release,
        environment=environment[0] if environment else None,
        start=as_utc(from_timestamp),
        end=as_utc(to_timestamp),
    )

    def query(conn: Connection) -> dict[str, Any]:
        found = list_traces(conn, where, page, limit)
        observations, scores = lf_queries.child_ids(conn, [t.id for t in found.data])
        data = [trace_body(t, observations[t.id], scores[t.id]) for t in found.data]
        return {"data": data, "meta": page_meta(page, limit, found.meta.total_items)}

    return json_response(await read(request, query))


@router.get("/v2/observations", summary="List observations (Langfuse v2 shape, cursor pages)")
async def observations(
    request: Request,
    _: Reader,
    limit: Limit = 50,
    cursor: str | None = None,
    trace_id: Annotated[str | None, Query(alias="traceId")] = None,
    name: str | None = None,
    type: str | None = None,
    level: str | None = None,
    parent_observation_id: Annotated[str | None, Query(alias="parentObservationId")] = None,
    is_root: Annotated[bool | None, Query(alias="isRootObservation")] = None,
    from_start_time: Annotated[datetime | None, Query(alias="fromStartTime")] = None,
    to_start_time: Annotated[datetime | None, Query(alias="toStartTime")] = None,
) -> Response:
    page = int(cursor) if cursor and cursor.isdigit() else 1  # the cursor is a page number
    where = ObservationFilter(
        trace_id=trace_id,
        name=name,
        type=type.lower() if type else None,
        level=level,
        roots_only=bool(is_root),
        parent_id=None if is_root else parent_observation_id,
        start=as_utc(from_start_time),
        end=as_utc(to_start_time),
    )
    found = await read(request, list_observations, where, page, limit)
    meta: dict[str, Any] = {}
    if page * limit < found.meta.total_items:
        meta["cursor"] = str(page + 1)
    return json_response({"data": [observation_body(o) for o in found.data], "meta": meta})
