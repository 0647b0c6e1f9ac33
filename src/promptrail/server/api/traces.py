"""The tracing query API: traces, one trace's tree, observations (the LLM calls), sessions,
scores and metrics.

Reads need the `read` scope, creating a score the `ingest` scope. Times in and out are
ISO 8601 UTC (`2025-01-31T12:00:00Z`; a time without offset is taken as UTC). `from` is
inclusive and `to` exclusive. Lists are paged with `page` (from 1) and `limit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from promptrail.api.inputs import as_utc
from promptrail.api.registry import MAX_VERSION
from promptrail.api.tracing import (
    Metrics,
    ObservationList,
    ScoreBody,
    ScoreList,
    ScoreOut,
    SessionDetail,
    SessionList,
    TraceDetail,
    TraceList,
)
from promptrail.errors import ApiProblem
from promptrail.server.api.ingest import pricing_of
from promptrail.server.auth import Principal, require_scope
from promptrail.server.errors import ERROR_RESPONSES
from promptrail.server.state import read, registry_of
from promptrail.store.ingest import new_score_id, store_events
from promptrail.store.observation_queries import ObservationFilter, list_observations
from promptrail.store.trace_metrics import GROUPS, UNITS, MetricsQuery, metrics
from promptrail.store.trace_queries import (
    ScoreFilter,
    TraceFilter,
    get_score,
    get_session,
    get_trace,
    list_scores,
    list_sessions,
    list_traces,
)

router = APIRouter(prefix="/api/v1", tags=["tracing"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Writer = Annotated[Principal, Depends(require_scope("ingest"))]

Page = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500).")]


def _iso_only(value: object) -> object:
    # pydantic reads `to=0.5` as seconds since 1970; the schema promises ISO 8601 only.
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError("expected an ISO 8601 date-time like 2024-06-01T12:00:00Z")
    return value


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
From = Annotated[
    datetime | None,
    BeforeValidator(_iso_only),
    Query(alias="from", description="Inclusive lower bound on the start time (ISO 8601)."),
]
To = Annotated[
    datetime | None,
    BeforeValidator(_iso_only),
    Query(description="Exclusive upper bound on the start time."),
]


@dataclass(frozen=True)
class Window:
    """The `from`/`to` query parameters every list and the metrics take, in UTC."""

    start: datetime | None
    end: datetime | None


def _window(from_: From = None, to: To = None) -> Window:
    return Window(as_utc(from_), as_utc(to))


TimeWindow = Annotated[Window, Depends(_window)]


@router.get(
    "/traces",
    response_model=TraceList,
    responses=ERROR_RESPONSES,
    summary="List traces, newest first, with filters",
)
async def traces(
    request: Request,
    _: Reader,
    window: TimeWindow,
    user_id: str | None = None,
    session_id: str | None = None,
    name: str | None = None,
    tag: Annotated[list[str] | None, Query(description="Repeat for traces with all tags.")] = None,
    prompt_name: Annotated[str | None, Query(description="Traces using this prompt.")] = None,
    prompt_version: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="... at this version.")
    ] = None,
    has_error: Annotated[
        bool | None, Query(description="Only traces with (true) or without (false) an ERROR.")
    ] = None,
    environment: str | None = None,
    release: str | None = None,
    page: Page = 1,
    limit: Limit = 50,
) -> TraceList:
    where = TraceFilter(
        user_id=user_id,
        session_id=session_id,
        name=name,
        tags=tag or [],
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        start=window.start,
        end=window.end,
        has_error=has_error,
        environment=environment,
        release=release,
    )
    return await read(request, list_traces, where, page, limit)


@router.get(
    "/observations",
    response_model=ObservationList,
    responses=ERROR_RESPONSES,
    summary="List observations (type=generation: the LLM calls), newest first, with filters",
)
async def observations(
    request: Request,
    _: Reader,
    window: TimeWindow,
    type: Annotated[
        str | None, Query(description="span, generation or event (default all).")
    ] = None,
    trace_id: str | None = None,
    name: str | None = None,
    model: str | None = None,
    level: Annotated[str | None, Query(description="e.g. ERROR.")] = None,
    prompt_name: Annotated[str | None, Query(description="Calls made with this prompt.")] = None,
    prompt_version: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="... at this version.")
    ] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> ObservationList:
    where = ObservationFilter(
        type=type,
        trace_id=trace_id,
        name=name,
        model=model,
        level=level,
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        start=window.start,
        end=window.end,
    )
    return await read(request, list_observations, where, page, limit)


@router.get(
    "/traces/{trace_id}",
    response_model=TraceDetail,
    responses=ERROR_RESPONSES,
    summary="One trace with its observations in tree order and its scores",
)
async def trace(
    request: Request, _: Reader, trace_id: Annotated[str, Path(max_length=64)]
) -> TraceDetail:
    return await read(request, get_trace, trace_id)


@router.get(
    "/sessions",
    response_model=SessionList,
    responses=ERROR_RESPONSES,
    summary="List sessions, most recently active first",
)
async def sessions(
    request: Request,
    _: Reader,
    window: TimeWindow,
    user_id: str | None = None,
    page: Page = 1,
    limit: Limit = 50,
) -> SessionList:
    def query(conn: Any) -> SessionList:
        return list_sessions(
            conn,
            user_id=user_id,
            start=window.start,
            end=window.end,
            page=page,
            limit=limit,
        )

    return await read(request, query)


@router.get(
    "/sessions/{session_id:path}",
    response_model=SessionDetail,
    responses=ERROR_RESPONSES,
    summary="A session's traces, oldest first, and its scores",
)
async def session(request: Request, _: Reader, session_id: str) -> SessionDetail:
    return await read(request, get_session, session_id)


@router.get(
    "/scores",
    response_model=ScoreList,
    responses=ERROR_RESPONSES,
    summary="List scores, newest first, with filters",
)
async def scores(
    request: Request,
    _: Reader,
    window: TimeWindow,
    trace_id: str | None = None,
    observation_id: str | None = None,
    session_id: str | None = None,
    name: str | None = None,
    source: Annotated[str | None, Query(pattern="^(api|sdk|annotation|eval)$")] = None,
    data_type: Annotated[str | None, Query(pattern="^(numeric|boolean|categorical)$")] = None,
    user_id: Annotated[str | None, Query(description="Scores on this user's traces.")] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> ScoreList:
    where = ScoreFilter(
        trace_id=trace_id,
        observation_id=observation_id,
        session_id=session_id,
        name=name,
        source=source,
        data_type=data_type,
        user_id=user_id,
        start=window.start,
        end=window.end,
    )
    return await read(request, list_scores, where, page, limit)


@router.post(
    "/scores",
    response_model=ScoreOut,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create (or, with the same id, replace) a score on a trace, observation or session",
)
async def create_score(request: Request, body: ScoreBody, _: Writer) -> ScoreOut:
    registry = registry_of(request)
    pricing = pricing_of(request)
    body.id = body.id or new_score_id()
    event = {"id": f"score-{body.id}", "type": "score-create", "body": body.model_dump()}
    result = await run_in_threadpool(
        lambda: store_events(registry.store.engine, pricing.table(), [event])
    )
    if result.errors:
        raise ApiProblem(400, "invalid", result.errors[0].message)
    return await read(request, get_score, body.id)


@router.get(
    "/scores/{score_id}",
    response_model=ScoreOut,
    responses=ERROR_RESPONSES,
    summary="One score",
)
async def score(
    request: Request, _: Reader, score_id: Annotated[str, Path(max_length=64)]
) -> ScoreOut:
    return await read(request, get_score, score_id)


@router.get(
    "/metrics",
    response_model=Metrics,
    responses=ERROR_RESPONSES,
    summary="Count, tokens, cost, latency p50/p95 and mean score, grouped over a time range",
    description=(
        "`group_by` is one of " + ", ".join(GROUPS) + "; `unit` is `generations` (each LLM "
        "call: its latency, tokens and cost; scores on it or its trace) or `traces` (each "
        "run end to end). `prompt_version` groups by prompt name and version (key "
        "`name@version`); `day` by UTC date. `score_name` limits the mean score to one score."
    ),
)
async def get_metrics(
    request: Request,
    _: Reader,
    window: TimeWindow,
    group_by: Annotated[str, Query(description=" | ".join(GROUPS))] = "model",
    unit: Annotated[str, Query(description=" | ".join(UNITS))] = "generations",
    score_name: str | None = None,
    name: Annotated[str | None, Query(description="Only this observation (trace) name.")] = None,
    user_id: str | None = None,
    tag: str | None = None,
    prompt_name: str | None = None,
    environment: str | None = None,
) -> Metrics:
    query = MetricsQuery(
        group_by=group_by,
        unit=unit,
        start=window.start,
        end=window.end,
        score_name=score_name,
        name=name,
        user_id=user_id,
        tag=tag,
        prompt_name=prompt_name,
        environment=environment,
    ).check()
    return await read(request, metrics, query)
