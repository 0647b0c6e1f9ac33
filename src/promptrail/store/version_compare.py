"""Two versions of one prompt serving traffic over a time range: their scores, calls,
latency and cost, for `GET /api/v1/metrics/compare` and the prompt page's "Quality in
production".

A version's generations are those traced with the prompt's name and that version
(`observations.prompt_name`, `prompt_version`, found through `ix_observations_prompt`).
A score counts for a generation when it is on the generation or on its trace with no
observation (as in the per-version metrics); numeric and boolean scores only. A
generation holds one value per score name, the newest (`promptrail eval --traces` writes
a new score beside the old one when an evaluator changes). Per version and score name,
the values of the newest `limit` generations are kept (`truncated` says some were left
out), so a comparison over a busy range reads a bounded number of rows.

Everything is computed in SQL with window functions both SQLite and PostgreSQL have;
the interval is `eval.stats.compare_unpaired` (imported on first use: numpy).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from promptrail.api.quality import (
    SAMPLE_LIMIT,
    ScoreComparison,
    VersionComparison,
    VersionTraffic,
)
from promptrail.api.registry import VersionInfo
from promptrail.api.verdicts import words
from promptrail.constants import PRODUCTION
from promptrail.errors import InvalidRequest, NotFound
from promptrail.store import registry as _registry
from promptrail.store.registry import iso
from promptrail.store.tracing import observations as obs_t
from promptrail.store.tracing import scores as scores_t


@dataclass
class Sample:
    """One version's numbers over the range; `scores` newest generation first."""

    version: int
    calls: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    cost: float | None = None
    scores: dict[str, list[float]] = field(default_factory=dict)
    scored: dict[str, int] = field(default_factory=dict)  # generations with the name, uncapped

    def truncated(self, name: str) -> bool:
        return self.scored.get(name, 0) > len(self.scores.get(name, []))


def _generations(name: str, versions: list[int], start: datetime, end: datetime) -> Any:
    o = obs_t.c
    return and_(
        o.prompt_name == name,
        o.prompt_version.in_(versions),
        o.start_time >= start,
        o.start_time < end,
        # Not `type = 'generation'`: SQLite without ANALYZE statistics (the store never
        # runs it) would then read ix_observations_type_start_time, every generation of
        # every prompt in the range, instead of this prompt's versions in
        # ix_observations_prompt. PostgreSQL picks the prompt's index either way.
        func.coalesce(o.type, "") == "generation",
    )


def traffic(
    conn: Connection, name: str, versions: list[int], start: datetime, end: datetime
) -> dict[int, Sample]:
    """Calls, cost and latency p50/p95 (nearest rank, as the metrics) per version."""
    o = obs_t.c
    where = _generations(name, versions, start, end)
    found = {v: Sample(v) for v in versions}
    counts = (
        select(o.prompt_version, func.count().label("calls"), func.sum(o.cost_total).label("cost"))
        .where(where)
        .group_by(o.prompt_version)
    )
    for row in conn.execute(counts):
        found[row.prompt_version].calls = int(row.calls)
        found[row.prompt_version].cost = None if row.cost is None else float(row.cost)
    ranked = (
        select(
            o.prompt_version.label("version"),
            o.latency_ms.label("latency"),
            func.row_number()
            .over(partition_by=o.prompt_version, order_by=o.latency_ms)
            .label("rn"),
            func.count().over(partition_by=o.prompt_version).label("n"),
        ).where(where, o.latency_ms.is_not(None))
    ).subquery("ranked")
    r = ranked.c
    for row in conn.execute(
        select(
            r.version,
            func.min(case((r.rn >= r.n * 0.5, r.latency))).label("p50"),
            func.min(case((r.rn >= r.n * 0.95, r.latency))).label("p95"),
        ).group_by(r.version)
    ):
        found[row.version].p50_ms = None if row.p50 is None else float(row.p50)
        found[row.version].p95_ms = None if row.p95 is None else float(row.p95)
    return found


def score_query(name: str, versions: list[int], start: datetime, end: datetime, limit: int) -> Any:
    """(version, score name, value, scored) rows: the newest `limit` values per version and
    name, newest first; `scored` is how many generations had a value before the cap."""
    o, s = obs_t.c, scores_t.c
    on = and_(s.trace_id == o.trace_id, or_(s.observation_id.is_(None), s.observation_id == o.id))
    values = (
        select(
            o.prompt_version.label("version"),
            o.id.label("generation"),
            o.start_time.label("at"),
            s.name.label("name"),
            s.value.label("value"),
            func.row_number()
            .over(partition_by=[o.id, s.name], order_by=[s.timestamp.desc(), s.id.desc()])
            .label("newest"),
        )
        .select_from(obs_t.join(scores_t, on))
        .where(_generations(name, versions, start, end), s.value.is_not(None))
    ).subquery("per_generation")
    v = values.c
    ranked = (
        select(
            v.version,
            v.name,
            v.value,
            func.row_number()
            .over(partition_by=[v.version, v.name], order_by=[v.at.desc(), v.generation.desc()])
            .label("rn"),
            func.count().over(partition_by=[v.version, v.name]).label("scored"),
        )
        .where(v.newest == 1)
        .subquery("ranked")
    )
    r = ranked.c
    return (
        select(r.version, r.name, r.value, r.scored)
        .where(r.rn <= limit)
        .order_by(r.version, r.name, r.rn)
    )


def samples(
    conn: Connection,
    name: str,
    versions: list[int],
    start: datetime,
    end: datetime,
    limit: int = SAMPLE_LIMIT,
) -> dict[int, Sample]:
    """Each version's traffic and its newest `limit` score values per score name."""
    found = traffic(conn, name, versions, start, end)
    for row in conn.execute(score_query(name, versions, start, end, limit)):
        sample = found[row.version]
        sample.scores.setdefault(row.name, []).append(float(row.value))
        sample.scored[row.name] = int(row.scored)
    return found


def versions_with_traffic(conn: Connection, name: str, start: datetime, end: datetime) -> list[int]:
    """The versions of `name` with a generation in the range, newest first (index only)."""
    o = obs_t.c
    query = (
        select(o.prompt_version)
        .where(
            o.prompt_name == name,
            o.prompt_version.is_not(None),
            o.start_time >= start,
            o.start_time < end,
        )
        .distinct()
    )
    rows = conn.execute(query).scalars()
    return sorted(rows, reverse=True)


def pick_versions(
    conn: Connection,
    name: str,
    base: int | None,
    head: int | None,
    start: datetime,
    end: datetime,
) -> tuple[VersionInfo, VersionInfo]:
    """The two versions to compare. Default base: the version on `production`; default
    head: the newest other version with traffic in the range. NotFound for an unknown
    prompt or version, InvalidRequest (saying what to give) when a default has no answer."""
    known = {v.version: v for v in _registry.versions(conn, name).versions}
    for given in (base, head):
        if given is not None and given not in known:
            top = max(known, default=0)
            raise NotFound(f"prompt {name!r} has no version {given} (its versions go up to {top})")
    if base is None:
        base = next((v for v, info in known.items() if PRODUCTION in info.labels), None)
        if base is None:
            raise InvalidRequest(
                f"prompt {name!r} has no {PRODUCTION!r} label: give base=VERSION (and head=)"
            )
    if head is None:
        others = [v for v in versions_with_traffic(conn, name, start, end) if v != base]
        head = next((v for v in others if v in known), None)
        if head is None:
            raise InvalidRequest(
                f"no version of {name!r} but v{base} served traffic between {iso(start)} and "
                f"{iso(end)}: give head=VERSION, or a longer range"
            )
    if base == head:
        raise InvalidRequest(f"base and head are both v{base}: compare two different versions")
    return known[base], known[head]


def compare(
    conn: Connection,
    name: str,
    base: int | None,
    head: int | None,
    start: datetime,
    end: datetime,
    limit: int = SAMPLE_LIMIT,
) -> VersionComparison:
    from promptrail.eval.stats import compare_unpaired

    old, new = pick_versions(conn, name, base, head, start, end)
    found = samples(conn, name, [old.version, new.version], start, end, limit)
    a, b = found[old.version], found[new.version]
    rows = []
    for score in sorted(a.scores.keys() & b.scores.keys()):
        result = compare_unpaired(a.scores[score], b.scores[score])
        rows.append(
            ScoreComparison(
                name=score,
                base_mean=result.base,
                base_n=len(a.scores[score]),
                head_mean=result.head,
                head_n=len(b.scores[score]),
                diff=result.diff,
                ci=result.ci,
                verdict=result.verdict,
                verdict_text=words(result.verdict),
                truncated=a.truncated(score) or b.truncated(score),
            )
        )
    names: dict[str, set[int]] = defaultdict(set)
    for sample in (a, b):
        for score in sample.scores:
            names[score].add(sample.version)
    return VersionComparison(
        prompt=name,
        start=iso(start) or "",
        end=iso(end) or "",
        base=_traffic(old, a),
        head=_traffic(new, b),
        scores=rows,
        only_base=sorted(n for n, on in names.items() if on == {old.version}),
        only_head=sorted(n for n, on in names.items() if on == {new.version}),
        sample_limit=limit,
        truncated=any(a.truncated(n) or b.truncated(n) for n in names),
    )


def _traffic(info: VersionInfo, sample: Sample) -> VersionTraffic:
    per_call = sample.cost / sample.calls if sample.cost is not None and sample.calls else None
    return VersionTraffic(
        version=info.version,
        labels=info.labels,
        calls=sample.calls,
        latency_p50_ms=sample.p50_ms,
        latency_p95_ms=sample.p95_ms,
        cost_per_call=per_call,
    )
