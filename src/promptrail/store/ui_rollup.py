"""The web UI's daily totals, kept current and read: past days stored, today summed live.

Summing a month of generations row by row takes seconds once there are millions; the
pages need a few dozen numbers. So each UTC day before today is summed once, in SQL,
into the `ui_day_*` tables (`ui_sums.py` says what they hold), and a page adds today's
totals, summed from the raw rows, to the stored days it covers.

A stored day stays right because every write notes in `ui_dirty_days` any day before
today that it touches (a late batch, an update that ends yesterday's generation, a
backfill, a score added to last week's trace): triggers (migration 0003), except for
observations on SQLite, which the ingest writer marks once per batch (migration 0009
says why); the next read computes those days again. Writes of today's rows mark nothing.
The computing runs on a `Refresher` thread, never in a page's request: a page reads what
is stored.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from promptrail.store import Store
from promptrail.store.registry import now
from promptrail.store.ui_sums import (
    PROMPT_TABLES,
    SUMS,
    Row,
    days_t,
    decode,
    dirty_days,
    live_start,
    midnight,
    models_t,
    percentile,
    plain,
    prompt_latency_t,
    sum_days,
    today,
)

__all__ = [
    "Refresher",
    "daily",
    "latency_percentiles",
    "models_by_day",
    "pending_days",
    "refresh",
    "today",
    "totals",
]

log = logging.getLogger("promptrail.server")


# -- keeping the stored days current -----------------------------------------------------------


def _runs(days: list[date]) -> Iterator[list[date]]:
    """Consecutive days, grouped."""
    run: list[date] = []
    for day in sorted(days):
        if run and day != run[-1] + timedelta(days=1):
            yield run
            run = []
        run.append(day)
    if run:
        yield run


def _write(store: Store) -> Any:
    return store.engine.connect().execution_options(promptrail_write=True)


def refresh(store: Store, first: date) -> None:
    """Make the stored totals of every day from `first` up to the live days current."""
    end = live_start()
    if first >= end:
        return
    wanted = [first + timedelta(days=i) for i in range((end - first).days)]
    keys = [d.isoformat() for d in wanted]
    with store.read() as conn:
        done = set(conn.execute(select(days_t.c.day).where(days_t.c.day.in_(keys))).scalars())
        marked = set(
            conn.execute(select(dirty_days.c.day).where(dirty_days.c.day.in_(keys))).scalars()
        )
    needed = [d for d in wanted if d.isoformat() not in done or d.isoformat() in marked]
    for run in _runs(needed):
        _compute(store, run)


def _compute(store: Store, run: list[date]) -> None:
    keys = [d.isoformat() for d in run]
    with _write(store) as conn, conn.begin():
        # Unmark first: a write landing from here on marks the day again (see migration).
        conn.execute(delete(dirty_days).where(dirty_days.c.day.in_(keys)))
        conn.execute(delete(days_t).where(days_t.c.day.in_(keys)))
    start, end = midnight(run[0]), midnight(run[-1] + timedelta(days=1))
    with store.read() as conn:
        per_day = {r["day"]: r for r in sum_days(conn, start, end)}
        summed = {table: fn(conn, start, end) for table, fn in SUMS.items()}
    stamp = now()
    day_rows = [
        per_day.get(key, {"day": key, "traces": 0, "error_traces": 0}) | {"computed_at": stamp}
        for key in keys
    ]
    try:
        with _write(store) as conn, conn.begin():
            for table, rows in summed.items():
                conn.execute(delete(table).where(table.c.day.in_(keys)))
                if rows:
                    conn.execute(insert(table), rows)
            conn.execute(insert(days_t), day_rows)
    except IntegrityError:
        pass  # another server process stored these days at the same moment


class Refresher:
    """Keeps the stored days current on a thread of its own, never in a request.

    Started with the server (one per process; two processes computing one day at once
    is harmless, see `_compute`). Every INTERVAL seconds, or when a page asks (`wake`),
    it computes the days of the last MAX_DAYS that are missing or marked. After a bulk
    load the first pages show the days summed so far and say how many are pending.
    """

    INTERVAL = 5.0
    MAX_DAYS = 90  # the longest range a page shows (server/ui/common.py RANGES)

    def __init__(self, store: Store):
        self.store = store
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="promptrail-rollup", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                refresh(self.store, today() - timedelta(days=self.MAX_DAYS - 1))
            except Exception:  # the database went away, a migration is running...
                log.warning("promptrail: daily totals not refreshed", exc_info=True)
            self._wake.wait(self.INTERVAL)
            self._wake.clear()


def pending_days(conn: Connection, first: date) -> int:
    """Days from `first` to the live ones whose stored totals are missing or out of date."""
    end = live_start()
    if first >= end:
        return 0
    keys = [(first + timedelta(days=i)).isoformat() for i in range((end - first).days)]
    done = set(conn.execute(select(days_t.c.day).where(days_t.c.day.in_(keys))).scalars())
    marked = set(conn.execute(select(dirty_days.c.day).where(dirty_days.c.day.in_(keys))).scalars())
    return sum(1 for key in keys if key not in done or key in marked)


# -- reading: stored days plus today ------------------------------------------------------------


def _stored_rows(conn: Connection, table: Table, first: date, prompt: str | None) -> Any:
    query = select(table).where(
        table.c.day >= first.isoformat(), table.c.day < live_start().isoformat()
    )
    if prompt is not None:
        query = query.where(table.c.prompt_name == prompt)
    return query


def _live(conn: Connection, table: Table, first: date, prompt: str | None) -> list[Row]:
    start = max(midnight(first), midnight(live_start()))
    if table in PROMPT_TABLES:
        return SUMS[table](conn, start, None, prompt)
    return SUMS[table](conn, start, None)


def totals(
    conn: Connection, table: Table, first: date, keys: list[str], prompt: str | None = None
) -> list[Row]:
    """`table`'s measures summed from `first` to now (stored days + today), by `keys`;
    for a prompt table, only the prompt named `prompt` if given."""
    measures = [c.name for c in table.c if c.name not in ("day", *keys) and not c.primary_key]
    stored = _stored_rows(conn, table, first, prompt).subquery()
    query = select(
        *[stored.c[k] for k in keys], *[func.sum(stored.c[m]).label(m) for m in measures]
    ).group_by(*[stored.c[k] for k in keys])
    out: dict[tuple[Any, ...], Row] = {}
    for row in [plain(r._mapping) for r in conn.execute(query)] + _live(conn, table, first, prompt):
        key = tuple(row[k] for k in keys)
        found = out.get(key)
        if found is None:
            out[key] = {k: row[k] for k in (*keys, *measures)}
        else:
            for m in measures:
                found[m] = (found[m] or 0) + (row[m] or 0)
    return list(out.values())


def latency_percentiles(
    conn: Connection, first: date, prompt: str
) -> dict[int, tuple[float | None, float | None]]:
    """version -> (p50, p95) of the prompt's generations from `first`, from histograms."""
    merged: dict[int, Counter[int]] = {}
    stored = conn.execute(_stored_rows(conn, prompt_latency_t, first, prompt))
    for row in [r._mapping for r in stored] + _live(conn, prompt_latency_t, first, prompt):
        merged.setdefault(row["prompt_version"], Counter()).update(decode(row["histogram"]))
    return {v: (percentile(c, 0.5), percentile(c, 0.95)) for v, c in merged.items()}


def daily(conn: Connection, first: date) -> list[Row]:
    """Per day from `first`: traces, traces with errors, latency p50/p95."""
    stored = conn.execute(
        select(days_t).where(
            days_t.c.day >= first.isoformat(), days_t.c.day < live_start().isoformat()
        )
    )
    rows = [plain(r._mapping) for r in stored]
    rows += sum_days(conn, max(midnight(first), midnight(live_start())), None)
    return rows


def models_by_day(conn: Connection, first: date) -> list[Row]:
    return totals(conn, models_t, first, ["day", "model"])
