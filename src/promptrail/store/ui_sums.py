"""What the web UI's daily totals are: their tables, and summing them from the raw rows.

One row per UTC day and model, prompt version, user, user and score name, prompt version
and score name; per prompt version also a latency histogram (counts in buckets 19% wide,
`2 ** (1/4)` apart), from which a range's p50/p95 come within a bucket's width; per day
the traces, traces with an ERROR and exact latency p50/p95. `ui_rollup.py` stores the
sums of past days and adds today's.

Totals follow `trace_metrics`: a generation's score is the mean of the scores on it and on
its trace as a whole; a user's traces and latency count on the day a trace started, their
tokens and cost on the day each generation started.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    or_,
    select,
)

from promptrail.api.inputs import as_utc
from promptrail.store.bulk import dialect_insert
from promptrail.store.tables import NAME, Timestamp, metadata
from promptrail.store.trace_metrics import _day
from promptrail.store.tracing import observations as obs_t
from promptrail.store.tracing import scores as scores_t
from promptrail.store.tracing import traces as traces_t

LIVE_DAYS = 1  # today is summed from the raw rows on every read
DAY = String(10)
BUCKETS_PER_DOUBLING = 4
Row = dict[str, Any]


def _counts() -> list[Column[Any]]:
    return [
        Column("input_tokens", BigInteger, nullable=False),
        Column("output_tokens", BigInteger, nullable=False),
        Column("total_tokens", BigInteger, nullable=False),
        Column("cost", Float, nullable=False),
    ]


def _generation_counts() -> list[Column[Any]]:
    return [
        Column("generations", BigInteger, nullable=False),
        Column("errors", BigInteger, nullable=False),
        *_counts(),
    ]


def _sum_and_n(what: str) -> list[Column[Any]]:
    """`<what>_sum` and `<what>_n`, from which a range's mean comes."""
    return [
        Column(f"{what}_sum", Float, nullable=False),
        Column(f"{what}_n", BigInteger, nullable=False),
    ]


dirty_days = Table(
    "ui_dirty_days",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("n", BigInteger, nullable=False, server_default="0"),
)
days_t = Table(
    "ui_days",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("traces", BigInteger, nullable=False),
    Column("error_traces", BigInteger, nullable=False),
    Column("latency_p50", Float),
    Column("latency_p95", Float),
    Column("computed_at", Timestamp, nullable=False),
)
models_t = Table(
    "ui_day_models",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("model", NAME, primary_key=True),  # '' for generations without a model
    *_generation_counts(),
)
prompts_t = Table(
    "ui_day_prompts",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("prompt_name", NAME, primary_key=True),
    Column("prompt_version", Integer, primary_key=True),  # 0 when the version is unknown
    *_generation_counts(),
    *_sum_and_n("latency"),
)
users_t = Table(
    "ui_day_users",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("user_id", NAME, primary_key=True),  # '' for traces without a user
    Column("traces", BigInteger, nullable=False),
    Column("error_traces", BigInteger, nullable=False),
    Column("generations", BigInteger, nullable=False),
    *_counts(),
    *_sum_and_n("latency"),
)
user_scores_t = Table(
    "ui_day_user_scores",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("user_id", NAME, primary_key=True),
    Column("name", NAME, primary_key=True),
    *_sum_and_n("score"),
)
SUMMED = (models_t, prompts_t, users_t, user_scores_t)
prompt_latency_t = Table(
    "ui_day_prompt_latency",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("prompt_name", NAME, primary_key=True),
    Column("prompt_version", Integer, primary_key=True),
    Column("histogram", Text, nullable=False),  # "bucket:count bucket:count ..."
)
prompt_scores_t = Table(
    "ui_day_prompt_scores",
    metadata,
    Column("day", DAY, primary_key=True),
    Column("prompt_name", NAME, primary_key=True),
    Column("prompt_version", Integer, primary_key=True),
    Column("name", NAME, primary_key=True),
    *_sum_and_n("score"),
)


def plain(row: Any) -> Row:
    """A result row as a dict of plain numbers (PostgreSQL sums bigints into Decimals)."""
    return {k: _number(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def today() -> date:
    return datetime.now(UTC).date()


def live_start() -> date:
    return today() - timedelta(days=LIVE_DAYS - 1)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def mark_observation_days(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Note in `dirty_days` each stored day that writing these observation rows changes,
    before they are written (the rows they replace are read here). A row that is late
    (started before today) or an ERROR touches its own day and its trace's; so does the
    stored row it replaces. On SQLite, once per batch, what migration 0003's triggers did
    per row (0009 says why they went there, and stayed on PostgreSQL). The counter, not
    DO NOTHING: a refresh deleting the mark then waits for this transaction instead of
    summing the day without these rows."""
    if not rows:
        return
    cutoff = midnight(today())
    moments: list[datetime] = []
    touched: set[str] = set()
    for row in rows:
        start = row["start_time"]
        late = start is not None and start < cutoff
        if late or row["level"] == "ERROR":
            touched.add(row["trace_id"])
            if late:
                moments.append(start)
    for ids in _chunks([row["id"] for row in rows]):
        replaced = select(obs_t.c.trace_id, obs_t.c.start_time).where(
            obs_t.c.id.in_(ids), or_(obs_t.c.start_time < cutoff, obs_t.c.level == "ERROR")
        )
        for trace_id, start in conn.execute(replaced):
            touched.add(trace_id)
            moments.append(start)
    for ids in _chunks(sorted(touched)):
        found = select(traces_t.c.start_time).where(
            traces_t.c.id.in_(ids), traces_t.c.start_time < cutoff
        )
        moments.extend(conn.execute(found).scalars())
    days = sorted({_utc_day(m) for m in moments if m is not None and as_utc(m) < cutoff})
    if days:
        mark = dialect_insert(conn, dirty_days).values([{"day": day} for day in days])
        conn.execute(
            mark.on_conflict_do_update(index_elements=["day"], set_={"n": dirty_days.c.n + 1})
        )


_IDS_PER_QUERY = 1000


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IDS_PER_QUERY):
        yield values[start : start + _IDS_PER_QUERY]


def _utc_day(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d")


# -- summing raw rows over [start, end), by UTC day -------------------------------------------


def _window(column: Any, start: datetime, end: datetime | None) -> list[Any]:
    return [column >= start] + ([column < end] if end is not None else [])


def _error_trace() -> Any:
    failed = select(obs_t.c.trace_id).where(obs_t.c.level == "ERROR")
    return case((traces_t.c.id.in_(failed), 1), else_=0)


def _token_sums(o: Any) -> list[Any]:
    return [
        func.coalesce(func.sum(o.usage_input), 0).label("input_tokens"),
        func.coalesce(func.sum(o.usage_output), 0).label("output_tokens"),
        func.coalesce(func.sum(o.usage_total), 0).label("total_tokens"),
        func.coalesce(func.sum(o.cost_total), 0.0).label("cost"),
    ]


def _generation_sums(o: Any) -> list[Any]:
    """What `_generation_counts()` holds, summed over generations."""
    errors = func.sum(case((o.level == "ERROR", 1), else_=0)).label("errors")
    return [func.count().label("generations"), errors, *_token_sums(o)]


def _latency_sums(latency_ms: Any) -> list[Any]:
    return [
        func.coalesce(func.sum(latency_ms), 0.0).label("latency_sum"),
        func.count(latency_ms).label("latency_n"),
    ]


def _score_sums(s: Any) -> list[Any]:
    return [func.sum(s.value).label("score_sum"), func.count(s.id).label("score_n")]


def _version(o: Any) -> Any:
    return func.coalesce(o.prompt_version, 0).label("prompt_version")


def sum_days(conn: Connection, start: datetime, end: datetime | None) -> list[Row]:
    """Traces, traces with an ERROR, and latency p50/p95 (nearest rank) per day."""
    t = traces_t.c
    day = _day(conn, t.start_time).label("day")
    where = _window(t.start_time, start, end)
    counts = {
        r.day: r
        for r in conn.execute(
            select(day, func.count().label("traces"), func.sum(_error_trace()).label("errs"))
            .where(*where)
            .group_by(day)
        )
    }
    ranked = (
        select(
            day,
            t.latency_ms.label("latency"),
            func.row_number().over(partition_by=day, order_by=t.latency_ms).label("rn"),
            func.count().over(partition_by=day).label("n"),
        )
        .where(*where, t.latency_ms.is_not(None))
        .subquery()
    )
    r = ranked.c
    pct = {
        p.day: p
        for p in conn.execute(
            select(
                r.day,
                func.min(case((r.rn >= r.n * 0.5, r.latency))).label("p50"),
                func.min(case((r.rn >= r.n * 0.95, r.latency))).label("p95"),
            ).group_by(r.day)
        )
    }
    return [
        {
            "day": d,
            "traces": int(c.traces),
            "error_traces": int(c.errs or 0),
            "latency_p50": pct[d].p50 if d in pct else None,
            "latency_p95": pct[d].p95 if d in pct else None,
        }
        for d, c in counts.items()
    ]


def sum_models(conn: Connection, start: datetime, end: datetime | None) -> list[Row]:
    o = obs_t.c
    day = _day(conn, o.start_time).label("day")
    model = func.coalesce(o.model, "").label("model")
    rows = conn.execute(
        select(day, model, *_generation_sums(o))
        .where(o.type == "generation", *_window(o.start_time, start, end))
        .group_by(day, model)
    )
    return [plain(r._mapping) for r in rows]


def _generations(o: Any, start: datetime, end: datetime | None, prompt: str | None) -> list[Any]:
    """Generations that used a registry prompt (`prompt`, if given) in the window."""
    name = o.prompt_name.is_not(None) if prompt is None else o.prompt_name == prompt
    return [o.type == "generation", name, *_window(o.start_time, start, end)]


def sum_prompts(
    conn: Connection, start: datetime, end: datetime | None, prompt: str | None = None
) -> list[Row]:
    o = obs_t.c
    day = _day(conn, o.start_time).label("day")
    keys = [day, o.prompt_name, _version(o)]
    rows = conn.execute(
        select(*keys, *_generation_sums(o), *_latency_sums(o.latency_ms))
        .where(*_generations(o, start, end, prompt))
        .group_by(*keys)
    )
    return [plain(r._mapping) for r in rows]


def sum_users(conn: Connection, start: datetime, end: datetime | None) -> list[Row]:
    t, o = traces_t.c, obs_t.c
    user = func.coalesce(t.user_id, "").label("user_id")
    out: dict[tuple[str, str], Row] = {}

    def entry(day: str, user_id: str) -> Row:
        found = out.get((day, user_id))
        if found is None:
            found = out[(day, user_id)] = {
                "day": day,
                "user_id": user_id,
                "traces": 0,
                "error_traces": 0,
                "generations": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "total_tokens": 0,
                "cost": 0.0,
                "latency_sum": 0.0,
                "latency_n": 0,
            }
        return found

    trace_day = _day(conn, t.start_time).label("day")
    for r in conn.execute(
        select(
            trace_day,
            user,
            func.count().label("traces"),
            func.sum(_error_trace()).label("errs"),
            *_latency_sums(t.latency_ms),
        )
        .where(*_window(t.start_time, start, end))
        .group_by(trace_day, user)
    ):
        row = entry(r.day, r.user_id)
        row.update(traces=int(r.traces), error_traces=int(r.errs or 0))
        row.update(latency_sum=float(r.latency_sum), latency_n=int(r.latency_n))
    gen_day = _day(conn, o.start_time).label("day")
    for r in conn.execute(
        select(gen_day, user, func.count().label("generations"), *_token_sums(o))
        .select_from(obs_t.join(traces_t, traces_t.c.id == o.trace_id))
        .where(o.type == "generation", *_window(o.start_time, start, end))
        .group_by(gen_day, user)
    ):
        entry(r.day, r.user_id).update(
            generations=int(r.generations),
            input_tokens=int(r.input_tokens),
            output_tokens=int(r.output_tokens),
            total_tokens=int(r.total_tokens),
            cost=float(r.cost),
        )
    return list(out.values())


def sum_user_scores(conn: Connection, start: datetime, end: datetime | None) -> list[Row]:
    t, s = traces_t.c, scores_t.c
    day = _day(conn, t.start_time).label("day")
    user = func.coalesce(t.user_id, "").label("user_id")
    rows = conn.execute(
        select(day, user, s.name, *_score_sums(s))
        .select_from(traces_t.join(scores_t, s.trace_id == t.id))
        .where(s.value.is_not(None), *_window(t.start_time, start, end))
        .group_by(day, user, s.name)
    )
    return [plain(r._mapping) for r in rows]


def sum_prompt_scores(
    conn: Connection, start: datetime, end: datetime | None, prompt: str | None = None
) -> list[Row]:
    """Sum and count of each score per prompt version (on the generation or its trace)."""
    o, s = obs_t.c, scores_t.c
    day = _day(conn, o.start_time).label("day")
    keys = [day, o.prompt_name, _version(o), s.name]
    on = and_(s.trace_id == o.trace_id, or_(s.observation_id.is_(None), s.observation_id == o.id))
    rows = conn.execute(
        select(*keys, *_score_sums(s))
        .select_from(obs_t.join(scores_t, on))
        .where(*_generations(o, start, end, prompt), s.value.is_not(None))
        .group_by(*keys)
    )
    return [plain(r._mapping) for r in rows]


def bucket(latency_ms: float) -> int:
    return math.floor(math.log2(max(latency_ms, 0.5)) * BUCKETS_PER_DOUBLING)


def bucket_value(index: int) -> float:
    """The middle (geometric) of a bucket, in ms."""
    return float(2 ** ((index + 0.5) / BUCKETS_PER_DOUBLING))


def sum_prompt_latency(
    conn: Connection, start: datetime, end: datetime | None, prompt: str | None = None
) -> list[Row]:
    """A latency histogram per day and prompt version."""
    o = obs_t.c
    day = _day(conn, o.start_time).label("day")
    counts: dict[tuple[str, str, int], Counter[int]] = defaultdict(Counter)
    for r in conn.execute(
        select(day, o.prompt_name, _version(o), o.latency_ms).where(
            *_generations(o, start, end, prompt), o.latency_ms.is_not(None)
        )
    ):
        counts[(r.day, r.prompt_name, r.prompt_version)][bucket(r.latency_ms)] += 1
    return [
        {"day": d, "prompt_name": n, "prompt_version": v, "histogram": encode(found)}
        for (d, n, v), found in counts.items()
    ]


def encode(counts: Counter[int]) -> str:
    return " ".join(f"{b}:{n}" for b, n in sorted(counts.items()))


def decode(text: str) -> Counter[int]:
    out: Counter[int] = Counter()
    for part in text.split():
        b, _, n = part.partition(":")
        out[int(b)] += int(n)
    return out


def percentile(counts: Counter[int], fraction: float) -> float | None:
    """Nearest rank over a histogram: the middle of the bucket holding that rank."""
    total = sum(counts.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(total * fraction)), 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return bucket_value(index)
    return None


# Each takes (conn, start, end) and, for the per-prompt tables, the prompt name too.
SUMS: dict[Table, Callable[..., list[dict[str, Any]]]] = {
    models_t: sum_models,
    prompts_t: sum_prompts,
    prompt_scores_t: sum_prompt_scores,
    prompt_latency_t: sum_prompt_latency,
    users_t: sum_users,
    user_scores_t: sum_user_scores,
}
PROMPT_TABLES = (prompts_t, prompt_scores_t, prompt_latency_t)
