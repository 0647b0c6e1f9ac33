"""The dashboard's daily totals on SQLite and PostgreSQL: equal to the API's metrics, and
still equal after late writes to days already summed (the writes mark them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from promptrail.store import Store, migrate
from promptrail.store import ui_rollup as rollup
from promptrail.store import ui_sums as sums
from promptrail.store.ingest import store_events
from promptrail.store.pricing import price_table
from promptrail.store.trace_metrics import MetricsQuery, metrics

DAYS_AGO = 3


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    migrate.upgrade(opened.engine)
    yield opened
    opened.close()


def at(days_ago: int, minutes: int = 0) -> str:
    moment = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return (moment - timedelta(days=days_ago, minutes=-minutes)).isoformat()


def run(trace: str, user: str, days_ago: int, model: str, tokens: int, **extra: Any) -> list:
    """A trace with one generation of `model` using support/triage v1."""
    return [
        {
            "id": f"t-{trace}",
            "type": "trace-create",
            "body": {"id": trace, "name": "chat", "user_id": user, "start_time": at(days_ago)},
        },
        {
            "id": f"g-{trace}",
            "type": "observation-create",
            "body": {
                "id": f"g{trace}",
                "trace_id": trace,
                "type": "generation",
                "name": "answer",
                "model": model,
                "start_time": at(days_ago),
                "end_time": at(days_ago, minutes=1),
                "usage": {"input": tokens, "output": 10},
                "prompt": {"name": "support/triage", "version": 1},
                **extra,
            },
        },
    ]


def ingest(store: Store, events: list) -> None:
    result = store_events(store.engine, price_table(), events)
    assert not result.errors, result.errors


def by_model(store: Store, first: Any) -> dict[str, tuple[int, int]]:
    with store.read() as conn:
        out: dict[str, tuple[int, int]] = {}
        for row in rollup.models_by_day(conn, first):
            count, tokens = out.get(row["model"], (0, 0))
            out[row["model"]] = (count + row["generations"], tokens + row["total_tokens"])
        return out


def api_by_model(store: Store, first: Any) -> dict[str, tuple[int, int]]:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    with store.read() as conn:
        found = metrics(conn, MetricsQuery(group_by="model", start=start))
    return {row.key or "": (row.count, row.total_tokens) for row in found.rows}


def test_daily_totals_match_the_metrics_api_and_follow_late_writes(store: Store) -> None:
    ingest(
        store,
        run("a1", "alice", DAYS_AGO, "gpt-4o", 100)
        + run("a2", "alice", 0, "gpt-4o", 50)
        + run("b1", "bob", DAYS_AGO + 1, "gpt-4o-mini", 30),
    )
    first = rollup.today() - timedelta(days=6)
    rollup.refresh(store, first)
    assert by_model(store, first) == api_by_model(store, first)
    assert by_model(store, first) == {"gpt-4o": (2, 170), "gpt-4o-mini": (1, 40)}

    # A late batch for a day already summed, and a score on last week's trace.
    ingest(store, run("b2", "bob", DAYS_AGO, "gpt-4o-mini", 90))
    score = {"name": "quality", "value": 0.5, "trace_id": "a1"}
    ingest(store, [{"id": "s-1", "type": "score-create", "body": score}])
    with store.read() as conn:
        marked = set(conn.execute(sums.dirty_days.select()).scalars())
    assert (rollup.today() - timedelta(days=DAYS_AGO)).isoformat() in marked
    rollup.refresh(store, first)
    assert by_model(store, first) == api_by_model(store, first)
    assert by_model(store, first)["gpt-4o-mini"] == (2, 140)
    with store.read() as conn:
        users = {r["user_id"]: r for r in rollup.totals(conn, sums.users_t, first, ["user_id"])}
        scores = rollup.totals(conn, sums.prompt_scores_t, first, ["prompt_version", "name"])
    assert users["bob"]["traces"] == 2
    assert users["bob"]["total_tokens"] == 140
    assert users["alice"]["traces"] == 2
    assert scores == [{"prompt_version": 1, "name": "quality", "score_sum": 0.5, "score_n": 1}]


def test_an_update_that_fails_an_old_generation_counts_its_trace_as_failed(store: Store) -> None:
    ingest(store, run("c1", "carol", DAYS_AGO, "gpt-4o", 10))
    first = rollup.today() - timedelta(days=6)
    rollup.refresh(store, first)
    with store.read() as conn:
        assert sum(r["error_traces"] for r in rollup.daily(conn, first)) == 0
    update = {"id": "gc1", "trace_id": "c1", "level": "ERROR", "status_message": "timeout"}
    ingest(store, [{"id": "u-1", "type": "observation-update", "body": update}])
    rollup.refresh(store, first)
    with store.read() as conn:
        days = rollup.daily(conn, first)
        latency = rollup.latency_percentiles(conn, first, "support/triage")
    assert sum(r["error_traces"] for r in days) == 1
    assert sum(r["traces"] for r in days) == 1
    p50, p95 = latency[1]
    assert p95 == p50  # one generation
    assert p50 is not None
    assert 0.9 * 60_000 < p50 < 1.1 * 60_000  # one minute, within a histogram bucket


def marked_days(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(sums.dirty_days.select()).scalars())


def day(days_ago: int) -> str:
    return (rollup.today() - timedelta(days=days_ago)).isoformat()


def test_observation_writes_alone_mark_the_days_they_change(store: Store) -> None:
    # Observation events only, no trace event: the marks come from the observation rows
    # (what they are, and what they replace), not from a trace written beside them.
    ingest(store, run("d1", "dora", DAYS_AGO, "gpt-4o", 10) + run("d2", "dora", 1, "gpt-4o", 10))
    first = rollup.today() - timedelta(days=6)
    rollup.refresh(store, first)
    assert marked_days(store) == set()
    late = run("d1", "dora", DAYS_AGO, "gpt-4o-mini", 5)[1]
    late["id"], late["body"]["id"] = "g-late", "glate"
    ingest(store, [late])  # a late generation on a summed day
    assert marked_days(store) == {day(DAYS_AGO)}
    rollup.refresh(store, first)
    assert by_model(store, first) == api_by_model(store, first)
    assert by_model(store, first)["gpt-4o-mini"] == (1, 15)

    # Yesterday's generation re-sent as starting today: yesterday's sum loses it.
    moved = run("d2", "dora", 0, "gpt-4o", 10)[1]
    ingest(store, [moved])
    assert marked_days(store) == {day(1)}
    rollup.refresh(store, first)
    assert by_model(store, first) == api_by_model(store, first)

    # Today's failing span on a trace that started days ago: that trace's day counts it.
    failing = {"id": "fd1", "trace_id": "d1", "level": "ERROR", "start_time": at(0)}
    ingest(store, [{"id": "e-1", "type": "observation-create", "body": failing}])
    assert marked_days(store) == {day(DAYS_AGO)}
    rollup.refresh(store, first)
    with store.read() as conn:
        assert sum(r["error_traces"] for r in rollup.daily(conn, first)) == 1

    # Today's healthy spans mark nothing: the common write stays cheap.
    ingest(store, run("d3", "dora", 0, "gpt-4o", 10))
    assert marked_days(store) == set()


def _wait_for(check: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_the_refresher_computes_missing_and_marked_days_on_its_own(store: Store) -> None:
    first = rollup.today() - timedelta(days=6)
    ingest(store, [e for i in range(1, 6) for e in run(f"r{i}", "rita", i, "gpt-4o", 10)])

    def pending() -> int:
        with store.read() as conn:
            return rollup.pending_days(conn, first)

    def traces() -> int:
        with store.read() as conn:
            return sum(row["traces"] for row in rollup.daily(conn, first))

    assert pending() == (rollup.live_start() - first).days  # nothing summed by the writes
    refresher = rollup.Refresher(store)
    try:
        _wait_for(lambda: pending() == 0, "the refresher never caught up")
        assert traces() == 5
        # A late write to a stored day marks it; a wake() has it computed again.
        ingest(store, run("r9", "rita", 2, "gpt-4o", 10))
        refresher.wake()
        _wait_for(lambda: traces() == 6, "the marked day was not computed again")
    finally:
        refresher.stop()
