"""The users page: traces, tokens, cost, latency and mean scores per user over a time range,
from the daily totals (`store/ui_rollup.py`) like the dashboard: a user's traces and
latency count on the day a trace started, tokens and cost on the day of each generation.

One user's page (`/users/ID`): their LLM calls by model, their sessions and their latest
traces over the range, from the queries behind the API (`trace_metrics`, `trace_queries`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from promptrail.server.ui.auth import Viewing
from promptrail.server.ui.common import days_param, int_param, read, render
from promptrail.server.ui.dashboard import first_day, mean, refresh
from promptrail.store import ui_rollup as rollup
from promptrail.store import ui_sums as sums
from promptrail.store.trace_metrics import MetricsQuery, metrics
from promptrail.store.trace_queries import TraceFilter, list_sessions, list_traces

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
RECENT = 20  # traces and sessions shown on a user's page
SORTS = {
    "cost": lambda r: (-r["cost"], r["user_id"]),
    "traces": lambda r: (-r["traces"], r["user_id"]),
    "tokens": lambda r: (-r["total_tokens"], r["user_id"]),
    "user": lambda r: r["user_id"],
}


@router.get("/users")
async def user_list(request: Request, viewer: Viewing) -> Response:
    params = request.query_params
    days = days_param(int_param(params.get("days")))
    sort = params.get("sort", "cost") if params.get("sort") in SORTS else "cost"
    page = max(1, int_param(params.get("page"), 1) or 1)
    first = first_day(days)
    await refresh(request, first)

    def load(conn: Connection) -> dict[str, Any]:
        users = rollup.totals(conn, sums.users_t, first, ["user_id"])
        scores = rollup.totals(conn, sums.user_scores_t, first, ["user_id", "name"])
        return {"users": users, "scores": scores}

    data = await read(request, load)
    rows = sorted((r for r in data["users"] if r["traces"]), key=SORTS[sort])
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    means: dict[str, dict[str, tuple[float, int]]] = {}
    for row in data["scores"]:
        found = mean(row["score_sum"], row["score_n"])
        if found is not None:
            means.setdefault(row["user_id"], {})[row["name"]] = (found, int(row["score_n"]))
    for row in shown:
        row["latency_avg"] = mean(row["latency_sum"], row["latency_n"])
    return render(
        request,
        "users.html",
        days=days,
        sort=sort,
        page=page,
        pages=max(1, math.ceil(len(rows) / PAGE_SIZE)),
        total=len(rows),
        rows=shown,
        means=means,
        score_names=sorted({name for m in means.values() for name in m}),
    )


@router.get("/users/{user_id:path}")
async def user_page(request: Request, viewer: Viewing, user_id: str) -> Response:
    days = days_param(int_param(request.query_params.get("days")))
    start = datetime.combine(first_day(days), time(), UTC)

    def load(conn: Connection) -> dict[str, Any]:
        by_model = metrics(conn, MetricsQuery(group_by="model", start=start, user_id=user_id))
        traces = list_traces(conn, TraceFilter(user_id=user_id, start=start), 1, RECENT)
        sessions = list_sessions(conn, user_id=user_id, start=start, end=None, page=1, limit=RECENT)
        return {"models": by_model.rows, "traces": traces, "sessions": sessions.data}

    data = await read(request, load)
    models = sorted(data["models"], key=lambda r: (-(r.cost or 0), -r.count))
    return render(
        request,
        "user.html",
        user_id=user_id,
        days=days,
        models=models,
        calls=sum(r.count for r in models),
        cost=sum(r.cost or 0 for r in models) if any(r.cost for r in models) else None,
        tokens=sum(r.total_tokens for r in models),
        errors=sum(r.error_count for r in models),
        traces=data["traces"].data,
        trace_total=data["traces"].meta.total_items,
        sessions=data["sessions"],
    )
