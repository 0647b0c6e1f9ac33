"""Metrics over a time range, grouped by model, user, tag, prompt version, day or name.

Everything is aggregated in SQL, in three queries that share one set of filtered rows:
counts/tokens/cost/errors, latency percentiles (nearest rank, from `row_number()` over
each group: SQLite has no percentile function, and this is the same on both), and the
mean score. The unit is a generation (its latency, tokens and cost; scores on it or on
its trace) or a trace (its end-to-end latency, its generations' tokens and cost, its
scores); a generation in a trace with two tags counts under both tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, FromClause, and_, case, func, literal, or_, select

from promptrail.api.tracing import Metrics, MetricsRow
from promptrail.errors import InvalidRequest
from promptrail.store.registry import iso
from promptrail.store.tracing import observations as obs_t
from promptrail.store.tracing import scores as scores_t
from promptrail.store.tracing import trace_tags as tags_t
from promptrail.store.tracing import traces as traces_t

GROUPS = ("model", "user", "tag", "prompt_version", "prompt", "day", "name", "environment")
UNITS = ("generations", "traces")


@dataclass
class MetricsQuery:
    group_by: str = "model"
    unit: str = "generations"
    start: datetime | None = None
    end: datetime | None = None
    score_name: str | None = None
    name: str | None = None
    user_id: str | None = None
    tag: str | None = None
    prompt_name: str | None = None
    environment: str | None = None

    def check(self) -> MetricsQuery:
        if self.group_by not in GROUPS:
            raise InvalidRequest(
                f"group_by must be one of {', '.join(GROUPS)}, not {self.group_by!r}"
            )
        if self.unit not in UNITS:
            raise InvalidRequest(f"unit must be one of {', '.join(UNITS)}, not {self.unit!r}")
        return self


def _day(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)


def _base(conn: Connection, q: MetricsQuery) -> tuple[FromClause, list[Any], list[Any], Any, Any]:
    """(from clause, group columns, conditions, latency, the row key that scores join on)."""
    t, o = traces_t.c, obs_t.c
    conditions: list[Any] = []
    # Columns of a table or of the `used` subquery below, or None where the unit has none.
    model: Any
    prompt_name: Any
    prompt_version: Any
    if q.unit == "generations":
        source: Any = obs_t.join(traces_t, traces_t.c.id == o.trace_id)
        conditions.append(o.type == "generation")
        time, latency, row = o.start_time, o.latency_ms, o
        model, prompt_name, prompt_version, name = o.model, o.prompt_name, o.prompt_version, o.name
    else:
        source = traces_t
        time, latency, row = t.start_time, t.latency_ms, t
        name = t.name
        model = prompt_name = prompt_version = None
        # A trace counts once under each model / prompt (version) its generations used.
        wanted = {
            "model": [o.model],
            "prompt_version": [o.prompt_name, o.prompt_version],
            "prompt": [o.prompt_name],
        }.get(q.group_by)
        if wanted is not None:
            used = (
                select(o.trace_id, *wanted)
                .where(o.type == "generation")
                .distinct()
                .subquery("used")
            )
            source = source.join(used, used.c.trace_id == t.id)
            model = used.c.get("model")
            prompt_name = used.c.get("prompt_name")
            prompt_version = used.c.get("prompt_version")
        if q.prompt_name is not None:
            with_prompt = select(o.trace_id).where(o.prompt_name == q.prompt_name)
            conditions.append(t.id.in_(with_prompt))
    if q.group_by == "tag" or q.tag is not None:
        source = source.join(tags_t, tags_t.c.trace_id == t.id)
        if q.tag is not None:
            conditions.append(tags_t.c.tag == q.tag)
    groups: list[Any] = {
        "model": [model],
        "user": [t.user_id],
        "tag": [tags_t.c.tag],
        "prompt_version": [prompt_name, prompt_version],
        "prompt": [prompt_name],
        "day": [_day(conn, time)],
        "name": [name],
        "environment": [t.environment],
    }[q.group_by]
    if q.start is not None:
        conditions.append(time >= q.start)
    if q.end is not None:
        conditions.append(time < q.end)
    for column, value in (
        (name, q.name),
        (t.user_id, q.user_id),
        (prompt_name if q.unit == "generations" else None, q.prompt_name),
        (t.environment, q.environment),
    ):
        if value is not None and column is not None:
            conditions.append(column == value)
    if q.group_by in ("prompt_version", "prompt"):
        conditions.append(prompt_name.is_not(None))
    return source, groups, conditions, latency, row


def metrics(conn: Connection, q: MetricsQuery) -> Metrics:
    q.check()
    source, groups, conditions, latency, row = _base(conn, q)
    labels = [g.label(f"g{i}") for i, g in enumerate(groups)]
    o = obs_t.c
    tokens_in: Any  # columns of observations, or of the per-trace subquery
    tokens_out: Any
    tokens_total: Any
    cost: Any
    if q.unit == "generations":
        tokens_in, tokens_out, tokens_total = o.usage_input, o.usage_output, o.usage_total
        cost, errors, trace_id = o.cost_total, case((o.level == "ERROR", 1), else_=0), o.trace_id
    else:
        per_trace = (
            select(
                o.trace_id,
                func.sum(o.usage_input).label("input"),
                func.sum(o.usage_output).label("output"),
                func.sum(o.usage_total).label("total"),
                func.sum(o.cost_total).label("cost"),
                func.sum(case((o.level == "ERROR", 1), else_=0)).label("errors"),
            )
            .group_by(o.trace_id)
            .subquery("per_trace")
        )
        source = source.outerjoin(per_trace, per_trace.c.trace_id == traces_t.c.id)
        p = per_trace.c
        tokens_in, tokens_out, tokens_total = p.input, p.output, p.total
        cost, trace_id = p.cost, traces_t.c.id
        errors = case((p.errors > 0, 1), else_=0)
    where = and_(literal(True), *conditions)

    totals = conn.execute(
        select(
            *labels,
            func.count().label("count"),
            func.count(func.distinct(trace_id)).label("traces"),
            func.sum(tokens_in).label("input"),
            func.sum(tokens_out).label("output"),
            func.sum(tokens_total).label("total"),
            func.sum(cost).label("cost"),
            func.sum(errors).label("errors"),
        )
        .select_from(source)
        .where(where)
        .group_by(*labels)
    ).all()

    ranked = (
        select(
            *labels,
            latency.label("latency"),
            func.row_number().over(partition_by=groups, order_by=latency).label("rn"),
            func.count().over(partition_by=groups).label("n"),
        )
        .select_from(source)
        .where(where, latency.is_not(None))
        .subquery("ranked")
    )
    r = ranked.c
    keys = [r[f"g{i}"] for i in range(len(groups))]
    percentiles = {
        tuple(found[: len(keys)]): found
        for found in conn.execute(
            select(
                *keys,
                func.min(case((r.rn >= r.n * 0.5, r.latency))).label("p50"),
                func.min(case((r.rn >= r.n * 0.95, r.latency))).label("p95"),
            ).group_by(*keys)
        )
    }

    s = scores_t.c
    if q.unit == "generations":
        on = and_(
            s.trace_id == o.trace_id, or_(s.observation_id.is_(None), s.observation_id == o.id)
        )
    else:
        on = s.trace_id == row.id
    score_where = [where, s.value.is_not(None)]
    if q.score_name is not None:
        score_where.append(s.name == q.score_name)
    averages = {
        tuple(found[: len(labels)]): found
        for found in conn.execute(
            select(*labels, func.avg(s.value).label("avg"), func.count(s.id).label("n"))
            .select_from(source.join(scores_t, on))
            .where(*score_where)
            .group_by(*labels)
        )
    }

    rows = []
    for found in totals:
        key = tuple(found[: len(labels)])
        pct, avg = percentiles.get(key), averages.get(key)
        rows.append(
            MetricsRow(
                key=_key(q.group_by, key),
                prompt_name=key[0] if q.group_by in ("prompt_version", "prompt") else None,
                prompt_version=key[1] if q.group_by == "prompt_version" else None,
                count=found._mapping["count"],  # `found.count` is tuple.count to a type checker
                trace_count=found.traces,
                input_tokens=int(found.input or 0),
                output_tokens=int(found.output or 0),
                total_tokens=int(found.total or 0),
                cost=None if found.cost is None else float(found.cost),
                latency_p50_ms=None if pct is None else _float(pct.p50),
                latency_p95_ms=None if pct is None else _float(pct.p95),
                avg_score=None if avg is None else _float(avg.avg),
                score_count=0 if avg is None else int(avg.n),
                error_count=int(found.errors or 0),
            )
        )
    rows.sort(key=lambda m: (-(m.cost or 0.0), -m.count, m.key or ""))
    return Metrics(
        group_by=q.group_by,
        unit=q.unit,
        start=iso(q.start),
        end=iso(q.end),
        score_name=q.score_name,
        rows=rows,
    )


def _key(group_by: str, key: tuple[Any, ...]) -> str | None:
    if group_by == "prompt_version":
        name, version = key
        return None if name is None else f"{name}@{version}" if version is not None else name
    value = key[0]
    return None if value is None else str(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
