"""The dashboard (`/`): cost and tokens by model, traces and latency per day, top users and
top prompt versions, over the last 1, 7, 30 or 90 days (UTC, today included).

The numbers come from the daily totals of `store/ui_rollup.py`: past days summed once in
SQL, today and yesterday summed on each view, so the page reads a few hundred rows
whatever the number of traces.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from promptrail.server.ui.auth import Viewing
from promptrail.server.ui.charts import Series, bar_chart, line_chart
from promptrail.server.ui.common import days_param, int_param, read, render
from promptrail.store import ui_rollup as rollup
from promptrail.store import ui_sums as sums
from promptrail.units import duration_ms as ms
from promptrail.units import usd

router = APIRouter(include_in_schema=False)
TOP = 10
MODELS_SHOWN = 6  # the other models are summed as "other"


def first_day(days: int) -> date:
    return rollup.today() - timedelta(days=days - 1)


def model_order(rows: list[dict[str, Any]]) -> list[str]:
    """Models by cost, the biggest first; both charts colour a model alike by this order."""
    totals: dict[str, float] = {}
    for row in rows:
        model = row["model"] or "(no model)"
        totals[model] = totals.get(model, 0.0) + row["cost"] + row["total_tokens"] * 1e-12
    return sorted(totals, key=lambda m: -totals[m])


def by_model(
    labels: list[str], rows: list[dict[str, Any]], field: str, order: list[str]
) -> list[Series]:
    """One series per model in `order`, the smallest summed into `other`."""
    kept = order[:MODELS_SHOWN] if len(order) > MODELS_SHOWN + 1 else order
    index = {day: i for i, day in enumerate(labels)}
    values = {name: [0.0] * len(labels) for name in [*kept, "other"]}
    for row in rows:
        model = row["model"] or "(no model)"
        if row["day"] in index:
            values[model if model in kept else "other"][index[row["day"]]] += row[field]
    names = [*kept, "other"] if any(values["other"]) else kept
    return [Series(name, values[name]) for name in names]


def mean(total: float | None, n: int | None) -> float | None:
    return None if not n else (total or 0.0) / n


async def refresh(request: Request, first: date) -> None:
    """Ask for the stored daily totals to be brought up to date, without waiting: the
    server's Refresher computes them off the request (a page reads what is stored)."""
    refresher = getattr(request.app.state, "rollups", None)
    if refresher is not None:
        refresher.wake()


@router.get("/")
async def dashboard(request: Request, viewer: Viewing) -> Response:
    params = request.query_params
    days = days_param(int_param(params.get("days")))
    first = first_day(days)
    labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    await refresh(request, first)

    def load(conn: Connection) -> dict[str, Any]:
        return {
            "models": rollup.models_by_day(conn, first),
            "daily": {row["day"]: row for row in rollup.daily(conn, first)},
            "users": rollup.totals(conn, sums.users_t, first, ["user_id"]),
            "prompts": rollup.totals(
                conn, sums.prompts_t, first, ["prompt_name", "prompt_version"]
            ),
            "scores": rollup.totals(
                conn, sums.prompt_scores_t, first, ["prompt_name", "prompt_version"]
            ),
            "pending": rollup.pending_days(conn, first),
        }

    data = await read(request, load)
    models, daily = data["models"], data["daily"]
    traces = [float(daily[d]["traces"]) if d in daily else 0.0 for d in labels]
    p50 = [daily[d]["latency_p50"] if d in daily else None for d in labels]
    p95 = [daily[d]["latency_p95"] if d in daily else None for d in labels]
    order = model_order(models)
    charts = {
        "cost": bar_chart(
            "Cost per day by model", labels, by_model(labels, models, "cost", order), usd
        ),
        "tokens": bar_chart(
            "Tokens per day by model",
            labels,
            by_model(labels, models, "total_tokens", order),
            short,
        ),
        "traces": bar_chart(
            "Traces per day", labels, [Series("traces", traces)], short, legend=False
        ),
        "latency": line_chart(
            "Trace latency per day", labels, [Series("p50", p50), Series("p95", p95)], ms
        ),
    }
    totals = {
        "traces": sum(row["traces"] for row in daily.values()),
        "errors": sum(row["error_traces"] for row in daily.values()),
        "generations": sum(row["generations"] for row in models),
        "tokens": sum(row["total_tokens"] for row in models),
        "cost": sum(row["cost"] for row in models),
    }
    users = sorted(data["users"], key=lambda r: (-r["cost"], -r["traces"]))[:TOP]
    prompts = sorted(data["prompts"], key=lambda r: -r["generations"])[:TOP]
    scores = {(r["prompt_name"], r["prompt_version"]): r for r in data["scores"]}
    for row in prompts:
        row["latency_avg"] = mean(row["latency_sum"], row["latency_n"])
        found = scores.get((row["prompt_name"], row["prompt_version"]))
        row["score_avg"] = mean(found["score_sum"], found["score_n"]) if found else None
    return render(
        request,
        "dashboard.html",
        days=days,
        charts=charts,
        totals=totals,
        users=users,
        prompts=prompts,
        pending=data["pending"],
    )


def short(value: float) -> str:
    """Axis labels: 1.5k, 2M."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"
