"""The LLM calls across traces (and any observations): `GET /api/v1/observations`, the
UI's LLM calls page and Langfuse's observation list, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from promptrail.api.tracing import ObservationList
from promptrail.store.trace_queries import observation_out, page_meta
from promptrail.store.tracing import observations as obs_t


@dataclass
class ObservationFilter:
    """Observations (all types, or the LLM calls with `type="generation"`), newest first."""

    type: str | None = None
    trace_id: str | None = None
    name: str | None = None
    model: str | None = None
    level: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    roots_only: bool = False  # observations without a parent
    parent_id: str | None = None
    start: datetime | None = None  # started at or after
    end: datetime | None = None  # ... and before

    def apply(self, query: Select[Any]) -> Select[Any]:
        o = obs_t.c
        for column, value in (
            (o.type, self.type),
            (o.trace_id, self.trace_id),
            (o.name, self.name),
            (o.model, self.model),
            (o.level, self.level),
            (o.prompt_name, self.prompt_name),
            (o.prompt_version, self.prompt_version),
            (o.parent_id, self.parent_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.roots_only:
            query = query.where(o.parent_id.is_(None))
        if self.start is not None:
            query = query.where(o.start_time >= self.start)
        if self.end is not None:
            query = query.where(o.start_time < self.end)
        return query


def list_observations(
    conn: Connection, where: ObservationFilter, page: int, limit: int
) -> ObservationList:
    total = conn.execute(where.apply(select(func.count()).select_from(obs_t))).scalar_one()
    rows = conn.execute(
        where.apply(select(obs_t))
        .order_by(obs_t.c.start_time.desc(), obs_t.c.id)
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    return ObservationList(
        data=[observation_out(row) for row in rows], meta=page_meta(page, limit, int(total))
    )
