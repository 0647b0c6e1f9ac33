"""The LLM calls page (`/generations`): every generation across traces, newest first,
filtered by model, prompt and version, time and errors; with a model chosen, the model's
figures over the time range on top (its drill-down page).

Rows come from `trace_queries.list_observations` (the API's `GET /api/v1/observations`),
the model's figures from `trace_metrics` (the API's `GET /api/v1/metrics`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from promptrail.server.ui.auth import Viewing
from promptrail.server.ui.common import int_param, read, render
from promptrail.server.ui.traces import parse_local_time
from promptrail.store.observation_queries import ObservationFilter, list_observations
from promptrail.store.trace_metrics import MetricsQuery, metrics

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FILTERS = ("model", "prompt", "version", "from", "to", "errors")


@router.get("/generations")
async def generation_list(request: Request, viewer: Viewing) -> Response:
    params = request.query_params
    given = {key: params.get(key, "").strip() for key in FILTERS}
    where = ObservationFilter(
        type="generation",
        model=given["model"] or None,
        prompt_name=given["prompt"] or None,
        prompt_version=int_param(given["version"]),
        level="ERROR" if given["errors"] else None,
        start=parse_local_time(given["from"]),
        end=parse_local_time(given["to"]),
    )
    page = max(1, int_param(params.get("page"), 1) or 1)

    def load(conn: Connection) -> dict[str, Any]:
        found = list_observations(conn, where, page, PAGE_SIZE)
        model = None
        if where.model is not None:
            # The model's own figures over the time range, whatever prompt made the calls.
            figures = MetricsQuery(group_by="model", start=where.start, end=where.end)
            model = next((r for r in metrics(conn, figures).rows if r.key == where.model), None)
        return {"found": found, "model": model}

    data = await read(request, load)
    return render(
        request,
        "generations.html",
        calls=data["found"].data,
        meta=data["found"].meta,
        model=data["model"],
        given=given,
        filtered=any(given.values()),
    )
