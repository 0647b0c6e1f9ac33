"""Reading traces, sessions and scores back: lists with filters and pages, one trace's tree.

Each function takes an open connection. Lists select one page of ids with the filters,
then fetch the aggregates (observation counts, tokens, cost, prompts used) for those ids
only, so a page costs the same whatever the size of the table.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, case, exists, func, select

from promptrail.api.tracing import (
    CostTotals,
    ObservationOut,
    PageMeta,
    PromptLink,
    PromptRef,
    ScoreList,
    ScoreOut,
    SessionDetail,
    SessionList,
    SessionSummary,
    TraceDetail,
    TraceList,
    TraceSummary,
    UsageTotals,
)
from promptrail.errors import NotFound
from promptrail.store.registry import iso
from promptrail.store.tracing import observations as obs_t
from promptrail.store.tracing import scores as scores_t
from promptrail.store.tracing import trace_tags as tags_t
from promptrail.store.tracing import traces as traces_t


@dataclass
class TraceFilter:
    user_id: str | None = None
    session_id: str | None = None
    name: str | None = None
    tags: list[str] = field(default_factory=list)  # all of them
    prompt_name: str | None = None
    prompt_version: int | None = None
    start: datetime | None = None  # traces that started at or after
    end: datetime | None = None  # ... and before
    has_error: bool | None = None
    environment: str | None = None
    release: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        t = traces_t.c
        for column, value in (
            (t.user_id, self.user_id),
            (t.session_id, self.session_id),
            (t.name, self.name),
            (t.environment, self.environment),
            (t.release, self.release),
        ):
            if value is not None:
                query = query.where(column == value)
        for tag in self.tags:
            query = query.where(t.id.in_(select(tags_t.c.trace_id).where(tags_t.c.tag == tag)))
        if self.prompt_name is not None or self.prompt_version is not None:
            used = select(obs_t.c.trace_id)
            if self.prompt_name is not None:
                used = used.where(obs_t.c.prompt_name == self.prompt_name)
            if self.prompt_version is not None:
                used = used.where(obs_t.c.prompt_version == self.prompt_version)
            query = query.where(t.id.in_(used))
        if self.start is not None:
            query = query.where(t.start_time >= self.start)
        if self.end is not None:
            query = query.where(t.start_time < self.end)
        if self.has_error is not None:
            failed = select(obs_t.c.trace_id).where(obs_t.c.level == "ERROR")
            query = query.where(t.id.in_(failed) if self.has_error else t.id.not_in(failed))
        return query


def page_meta(page: int, limit: int, total: int) -> PageMeta:
    return PageMeta(
        page=page, limit=limit, total_items=total, total_pages=max(1, math.ceil(total / limit))
    )


def loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- traces ----------------------------------------------------------------------------------


def list_traces(conn: Connection, where: TraceFilter, page: int, limit: int) -> TraceList:
    total = conn.execute(where.apply(select(func.count()).select_from(traces_t))).scalar_one()
    rows = conn.execute(
        where.apply(select(traces_t))
        .order_by(traces_t.c.start_time.desc(), traces_t.c.id)
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    return TraceList(data=summaries(conn, rows), meta=page_meta(page, limit, total))


def summaries(conn: Connection, rows: Sequence[Any]) -> list[TraceSummary]:
    """Trace rows with their observation aggregates and the prompt versions they used."""
    ids = [row.id for row in rows]
    stats: dict[str, Any] = {}
    prompts: dict[str, list[PromptRef]] = defaultdict(list)
    if ids:
        o = obs_t.c
        for stat in conn.execute(
            select(
                o.trace_id,
                func.count().label("observations"),
                func.sum(case((o.type == "generation", 1), else_=0)).label("generations"),
                func.sum(o.usage_input).label("input"),
                func.sum(o.usage_output).label("output"),
                func.sum(o.usage_total).label("total"),
                func.sum(o.usage_cached).label("cached"),
                func.sum(o.usage_reasoning).label("reasoning"),
                func.sum(o.cost_total).label("cost"),
            )
            .where(o.trace_id.in_(ids))
            .group_by(o.trace_id)
        ):
            stats[stat.trace_id] = stat
        failures = _failures(conn, ids)
        for used in conn.execute(
            select(o.trace_id, o.prompt_name, o.prompt_version, o.prompt_label, o.prompt_hash)
            .distinct()
            .where(o.trace_id.in_(ids), o.prompt_name.is_not(None))
            .order_by(o.trace_id, o.prompt_name, o.prompt_version)
        ):
            prompts[used.trace_id].append(
                PromptRef(
                    name=used.prompt_name,
                    version=used.prompt_version,
                    label=used.prompt_label,
                    hash=used.prompt_hash,
                )
            )
    else:
        failures = {}
    return [
        _summary(row, stats.get(row.id), prompts.get(row.id, []), failures.get(row.id, 0))
        for row in rows
    ]


def _failures(conn: Connection, trace_ids: list[str]) -> dict[str, int]:
    """Per trace, the observations that failed on their own: an exception raised in a
    generation also marks every span it passes through, but it is one failure."""
    o, child = obs_t.c, obs_t.alias("child").c
    failed_child = exists().where(
        child.trace_id == o.trace_id, child.parent_id == o.id, child.level == "ERROR"
    )
    query = (
        select(o.trace_id, func.count().label("failures"))
        .where(o.trace_id.in_(trace_ids), o.level == "ERROR", ~failed_child)
        .group_by(o.trace_id)
    )
    return {row.trace_id: int(row.failures) for row in conn.execute(query)}


def _summary(row: Any, stat: Any, prompts: list[PromptRef], failures: int) -> TraceSummary:
    return TraceSummary(
        id=row.id,
        name=row.name,
        start_time=iso(row.start_time),
        end_time=iso(row.end_time),
        latency_ms=row.latency_ms,
        user_id=row.user_id,
        session_id=row.session_id,
        tags=list(row.tags or []),
        release=row.release,
        environment=row.environment,
        metadata=loads(row.metadata),
        input=loads(row.input),
        output=loads(row.output),
        observation_count=int(stat.observations) if stat else 0,
        generation_count=int(stat.generations or 0) if stat else 0,
        error_count=failures,
        usage=UsageTotals(
            input=int(stat.input or 0),
            output=int(stat.output or 0),
            total=int(stat.total or 0),
            cached=int(stat.cached or 0),
            reasoning=int(stat.reasoning or 0),
        )
        if stat
        else UsageTotals(),
        cost=None if stat is None or stat.cost is None else float(stat.cost),
        prompts=prompts,
    )


def get_trace(conn: Connection, trace_id: str) -> TraceDetail:
    row = conn.execute(select(traces_t).where(traces_t.c.id == trace_id)).first()
    if row is None:
        raise NotFound(
            f"no trace {trace_id!r}: it was never ingested, or not yet (ingest is "
            "asynchronous; the SDK's flush() waits for delivery)"
        )
    summary = summaries(conn, [row])[0]
    obs_rows = conn.execute(
        select(obs_t).where(obs_t.c.trace_id == trace_id).order_by(obs_t.c.start_time, obs_t.c.id)
    ).all()
    score_rows = conn.execute(
        select(scores_t).where(scores_t.c.trace_id == trace_id).order_by(scores_t.c.timestamp)
    ).all()
    return TraceDetail(
        **summary.model_dump(),
        observations=tree_order([observation_out(r) for r in obs_rows]),
        scores=[score_out(r) for r in score_rows],
    )


def tree_order(items: list[ObservationOut]) -> list[ObservationOut]:
    """Depth-first: each parent followed by its children (by start time), with depths set.
    An observation whose parent is missing is shown as a root."""
    known = {item.id for item in items}
    children: dict[str | None, list[ObservationOut]] = defaultdict(list)
    for item in items:
        parent = item.parent_id if item.parent_id in known else None
        children[parent].append(item)
    out: list[ObservationOut] = []
    stack = [(item, 0) for item in reversed(children[None])]
    while stack:
        item, depth = stack.pop()
        item.depth = depth
        out.append(item)
        stack.extend((child, depth + 1) for child in reversed(children.get(item.id, [])))
    return out


def observation_out(row: Any) -> ObservationOut:
    usage = None
    if any(
        v is not None
        for v in (row.usage_input, row.usage_output, row.usage_total, row.usage_cached)
    ):
        usage = UsageTotals(
            input=row.usage_input or 0,
            output=row.usage_output or 0,
            total=row.usage_total or 0,
            cached=row.usage_cached or 0,
            reasoning=row.usage_reasoning or 0,
        )
    cost = None
    if row.cost_total is not None:
        cost = CostTotals(input=row.cost_input, output=row.cost_output, total=row.cost_total)
    prompt = None
    if row.prompt_name is not None:
        prompt = PromptLink(
            name=row.prompt_name,
            version=row.prompt_version,
            label=row.prompt_label,
            hash=row.prompt_hash,
            resolved=row.prompt_resolved,
        )
    return ObservationOut(
        id=row.id,
        trace_id=row.trace_id,
        parent_id=row.parent_id,
        type=row.type or "span",
        name=row.name,
        start_time=iso(row.start_time),
        end_time=iso(row.end_time),
        completion_start_time=iso(row.completion_start_time),
        latency_ms=row.latency_ms,
        time_to_first_token_ms=row.time_to_first_token_ms,
        level=row.level or "DEFAULT",
        status_message=row.status_message,
        version=row.version,
        input=loads(row.input),
        output=loads(row.output),
        metadata=loads(row.metadata),
        model=row.model,
        model_parameters=loads(row.model_parameters),
        usage=usage,
        cost=cost,
        cost_source=row.cost_source,
        prompt=prompt,
    )


# -- sessions --------------------------------------------------------------------------------


def list_sessions(
    conn: Connection,
    *,
    user_id: str | None,
    start: datetime | None,
    end: datetime | None,
    page: int,
    limit: int,
) -> SessionList:
    t = traces_t.c
    conditions: list[ColumnElement[bool]] = [t.session_id.is_not(None)]
    if user_id is not None:
        conditions.append(t.user_id == user_id)
    if start is not None:
        conditions.append(t.start_time >= start)
    if end is not None:
        conditions.append(t.start_time < end)
    where = and_(*conditions)
    total = conn.execute(select(func.count(func.distinct(t.session_id))).where(where)).scalar_one()
    groups = conn.execute(
        select(
            t.session_id,
            func.count().label("traces"),
            func.min(t.start_time).label("first"),
            func.max(t.start_time).label("last"),
        )
        .where(where)
        .group_by(t.session_id)
        .order_by(func.max(t.start_time).desc(), t.session_id)
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    ids = [g.session_id for g in groups]
    users: dict[str, set[str]] = defaultdict(set)
    totals: dict[str, Any] = {}
    if ids:
        for sid, uid in conn.execute(
            select(t.session_id, t.user_id).distinct().where(t.session_id.in_(ids))
        ):
            if uid is not None:
                users[sid].add(uid)
        for row in conn.execute(
            select(
                t.session_id,
                func.sum(obs_t.c.usage_total).label("tokens"),
                func.sum(obs_t.c.cost_total).label("cost"),
            )
            .select_from(obs_t.join(traces_t, traces_t.c.id == obs_t.c.trace_id))
            .where(t.session_id.in_(ids))
            .group_by(t.session_id)
        ):
            totals[row.session_id] = row
    data = [
        SessionSummary(
            session_id=g.session_id,
            trace_count=g.traces,
            first_trace_at=iso(g.first),
            last_trace_at=iso(g.last),
            user_ids=sorted(users.get(g.session_id, ())),
            total_tokens=int(totals[g.session_id].tokens or 0) if g.session_id in totals else 0,
            cost=_float(totals[g.session_id].cost) if g.session_id in totals else None,
        )
        for g in groups
    ]
    return SessionList(data=data, meta=page_meta(page, limit, total))


def get_session(conn: Connection, session_id: str) -> SessionDetail:
    rows = conn.execute(
        select(traces_t)
        .where(traces_t.c.session_id == session_id)
        .order_by(traces_t.c.start_time, traces_t.c.id)
    ).all()
    session_scores = conn.execute(
        select(scores_t).where(scores_t.c.session_id == session_id).order_by(scores_t.c.timestamp)
    ).all()
    if not rows and not session_scores:
        raise NotFound(f"no session {session_id!r}: no trace was recorded with this session_id")
    return SessionDetail(
        session_id=session_id,
        traces=summaries(conn, rows),
        scores=[score_out(r) for r in session_scores],
    )


# -- scores ----------------------------------------------------------------------------------


@dataclass
class ScoreFilter:
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    name: str | None = None
    source: str | None = None
    data_type: str | None = None
    user_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        s = scores_t.c
        for column, value in (
            (s.trace_id, self.trace_id),
            (s.observation_id, self.observation_id),
            (s.session_id, self.session_id),
            (s.name, self.name),
            (s.source, self.source),
            (s.data_type, self.data_type),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.user_id is not None:
            mine = select(traces_t.c.id).where(traces_t.c.user_id == self.user_id)
            query = query.where(s.trace_id.in_(mine))
        if self.start is not None:
            query = query.where(s.timestamp >= self.start)
        if self.end is not None:
            query = query.where(s.timestamp < self.end)
        return query


def list_scores(conn: Connection, where: ScoreFilter, page: int, limit: int) -> ScoreList:
    total = conn.execute(where.apply(select(func.count()).select_from(scores_t))).scalar_one()
    rows = conn.execute(
        where.apply(select(scores_t))
        .order_by(scores_t.c.timestamp.desc(), scores_t.c.id)
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    return ScoreList(data=[score_out(r) for r in rows], meta=page_meta(page, limit, total))


def get_score(conn: Connection, score_id: str) -> ScoreOut:
    row = conn.execute(select(scores_t).where(scores_t.c.id == score_id)).first()
    if row is None:
        raise NotFound(f"no score {score_id!r}")
    return score_out(row)


def score_out(row: Any) -> ScoreOut:
    return ScoreOut(
        id=row.id,
        name=row.name,
        value=row.value,
        string_value=row.string_value,
        data_type=row.data_type,
        trace_id=row.trace_id,
        observation_id=row.observation_id,
        session_id=row.session_id,
        source=row.source,
        comment=row.comment,
        timestamp=iso(row.timestamp),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
