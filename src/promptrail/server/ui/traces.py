"""Trace pages: the filtered, paged list, one trace as a tree and a waterfall, annotations.

The list and the trace come from `trace_queries` (the API's `GET /api/v1/traces` and
`/traces/{id}`); an annotation goes through the ingest path the API's `POST /scores` uses,
with `source: annotation`, and needs a key with the `ingest` scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from promptrail.api.inputs import as_utc
from promptrail.api.tracing import ObservationOut, ScoreBody, TraceDetail
from promptrail.errors import Refused
from promptrail.server.api.ingest import pricing_of
from promptrail.server.state import registry_of
from promptrail.server.ui.auth import Viewer, Viewing, check_same_site
from promptrail.server.ui.common import int_param, parse_time, read, render
from promptrail.store.ingest import new_score_id, store_events
from promptrail.store.trace_queries import get_trace, list_traces
from promptrail.store.ui_queries import TraceSearch
from promptrail.units import duration_ms as ms

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FILTERS = ("from", "to", "user", "session", "tag", "name", "q", "prompt", "version", "errors")


def parse_local_time(value: str | None) -> datetime | None:
    """A datetime-local field's value (taken as UTC), or an ISO time."""
    if not value:
        return None
    try:
        moment = parse_time(value)
    except ValueError:
        return None
    if moment is None:
        return None
    return as_utc(moment)


@router.get("/traces")
async def trace_list(request: Request, viewer: Viewing) -> Response:
    params = request.query_params
    given = {key: params.get(key, "").strip() for key in FILTERS}
    where = TraceSearch(
        user_id=given["user"] or None,
        session_id=given["session"] or None,
        tags=[given["tag"]] if given["tag"] else [],
        name=given["name"] or None,
        prompt_name=given["prompt"] or None,
        prompt_version=int_param(given["version"]),
        start=parse_local_time(given["from"]),
        end=parse_local_time(given["to"]),
        has_error=True if given["errors"] else None,
        search=given["q"] or None,
    )
    page = max(1, int_param(params.get("page"), 1) or 1)
    found = await read(request, lambda conn: list_traces(conn, where, page, PAGE_SIZE))
    return render(
        request,
        "traces.html",
        traces=found.data,
        meta=found.meta,
        given=given,
        filtered=any(given.values()),
    )


@dataclass
class Row:
    """One observation in the tree and on the waterfall (offsets in % of the trace)."""

    obs: ObservationOut
    left: float
    width: float
    children: int


def waterfall(trace: TraceDetail) -> tuple[list[Row], float, list[tuple[float, str]]]:
    """Rows, the span in ms, and axis ticks (percent, label), all to one scale."""
    times = [parse_time(trace.start_time), parse_time(trace.end_time)]
    for obs in trace.observations:
        times += [parse_time(obs.start_time), parse_time(obs.end_time)]
    known = [t for t in times if t is not None]
    if not known:
        return [Row(o, 0, 100, 0) for o in trace.observations], 0.0, []
    begin, end = min(known), max(known)
    total = max((end - begin).total_seconds() * 1000, 1.0)
    children: dict[str, int] = {}
    for obs in trace.observations:
        if obs.parent_id:
            children[obs.parent_id] = children.get(obs.parent_id, 0) + 1
    rows = []
    for obs in trace.observations:
        start = parse_time(obs.start_time) or begin
        stop = parse_time(obs.end_time) or start
        left = (start - begin).total_seconds() * 1000 / total * 100
        width = (stop - start).total_seconds() * 1000 / total * 100
        rows.append(Row(obs, round(left, 3), round(max(width, 0.4), 3), children.get(obs.id, 0)))
    ticks = [(f * 100, ms(total * f)) for f in (0, 0.25, 0.5, 0.75, 1)]
    return rows, total, ticks


async def _trace_page(
    request: Request, viewer: Viewer, trace_id: str, status: int = 200, **extra: Any
) -> Response:
    trace = await read(request, lambda conn: get_trace(conn, trace_id))
    rows, total, ticks = waterfall(trace)
    return render(
        request,
        "trace.html",
        status=status,
        trace=trace,
        rows=rows,
        total_ms=total,
        ticks=ticks,
        can_annotate=viewer.can("ingest"),
        form=extra.get("form", {}),
        score_error=extra.get("score_error"),
    )


@router.get("/traces/{trace_id}")
async def trace_page(request: Request, trace_id: str, viewer: Viewing) -> Response:
    return await _trace_page(request, viewer, trace_id)


def _value(kind: str, raw: str) -> bool | float | str:
    text = raw.strip()
    if kind == "numeric":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"a numeric score needs a number, not {text!r}") from None
    if kind == "boolean":
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"a boolean score is true or false, not {text!r}")
    return text


@router.post("/traces/{trace_id}/scores")
async def annotate(
    request: Request,
    trace_id: str,
    viewer: Viewing,
    name: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    data_type: Annotated[str, Form()] = "numeric",
    comment: Annotated[str, Form()] = "",
    observation_id: Annotated[str, Form()] = "",
) -> Response:
    check_same_site(request)
    if not viewer.can("ingest"):
        raise Refused(
            f"adding a score needs a key with the `ingest` scope; the key {viewer.who} has "
            f"{viewer.scopes}. Log in with another key (`promptrail keys create --scope ingest`)"
        )
    trace = await read(request, lambda conn: get_trace(conn, trace_id))  # 404 when unknown
    form = {"name": name, "value": value, "data_type": data_type, "comment": comment}
    known = {o.id for o in trace.observations}
    try:
        if not name.strip():
            raise ValueError("give the score a name (e.g. quality)")
        if observation_id and observation_id not in known:
            raise ValueError(f"this trace has no observation {observation_id!r}")
        body = ScoreBody(
            id=new_score_id(),
            name=name.strip(),
            value=_value(data_type, value),
            data_type=data_type,
            trace_id=trace_id,
            observation_id=observation_id or None,
            source="annotation",
            comment=comment.strip() or None,
        )
    except (ValueError, ValidationError) as exc:
        message = _message(exc)
        return await _trace_page(request, viewer, trace_id, 400, form=form, score_error=message)
    registry, pricing = registry_of(request), pricing_of(request)
    event = {"id": f"score-{body.id}", "type": "score-create", "body": body.model_dump()}
    result = await run_in_threadpool(
        lambda: store_events(registry.store.engine, pricing.table(), [event])
    )
    if result.errors:
        message = result.errors[0].message
        return await _trace_page(request, viewer, trace_id, 400, form=form, score_error=message)
    return RedirectResponse(f"/traces/{trace_id}#scores", status_code=303)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        text = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return f"{where}: {text}" if where else text
    return str(exc)
