"""Time the web UI's heaviest pages on a store of 100,000 traces and 1,000,000 observations.

    .venv/bin/python bench/ui.py                       # SQLite (bench/out/ui.db)
    .venv/bin/python bench/ui.py --db postgresql://postgres@127.0.0.1:5432/promptrail_bench_ui
    .venv/bin/python bench/ui.py --fresh --traces 100000 --observations 1000000

The store is generated once (rows bulk-inserted through SQLAlchemy Core; `--fresh` drops
and rebuilds it), then a real `promptrail serve --no-auth` process answers each page
`--repeat` times after a first request; the first, the median and the slowest of the rest
are printed. Goal: every page and the metrics API < 300 ms (median), and the dashboard's
first view too. With `--cold` the stored daily totals are forgotten first, as after a
bulk load: the server's Refresher sums the past days on its own thread, so the first
dashboard answers at once (saying which days are still pending) instead of summing them.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from promptrail.api.registry import LabelMove, PublishRequest, PublishSource  # noqa: E402
from promptrail.store import Store, migrate  # noqa: E402
from promptrail.store.tracing import observations, scores, trace_tags, traces  # noqa: E402
from serverproc import ServerProcess  # noqa: E402
from uploads import upload  # noqa: E402

GOAL_MS = 300.0
BIG_TRACE = "b" * 32  # the trace with 200 observations
DAYS = 35  # traces spread over this many days before now
MODELS = {
    "gpt-4o-mini": 0.15e-6,
    "gpt-4o": 2.5e-6,
    "claude-3-5-sonnet": 3e-6,
    "llama-3-70b": 0.6e-6,
}
NAMES = ["chat-turn", "triage", "summarize", "reply", "classify", "extract", "rag-answer"]
TAGS = ["support", "billing", "beta", "mobile", "web", "eval"]
PROMPTS = [f"bench/prompt-{i}" for i in range(12)]
VERSIONS = 4
CHUNK = 2_000  # traces per insert batch
GENERATION_COLUMNS = (
    "model",
    "model_parameters",
    "usage_input",
    "usage_output",
    "usage_total",
    "cost_input",
    "cost_output",
    "cost_total",
    "cost_source",
    "prompt_name",
    "prompt_version",
    "prompt_label",
    "prompt_hash",
)


def publish_prompts(store: Store) -> None:
    uploads, moves = [], []
    for name in PROMPTS:
        for version in range(1, VERSIONS + 1):
            prompt = f"Version {version} of {name}: answer {{{{question}}}} for {{{{user}}}}."
            config = {"model": "gpt-4o-mini", "temperature": round(0.1 * version, 1)}
            uploads.append(
                upload(name, version, prompt=prompt, config=config, path=f"prompts/{name}.yaml")
            )
        moves += [
            LabelMove(name=name, label="production", version=VERSIONS - 1),
            LabelMove(name=name, label="staging", version=VERSIONS),
        ]
    source = PublishSource(
        commit="c" * 40, author="bench", message="bench prompts", repository_url="https://git/x"
    )
    store.publish(PublishRequest(source=source, versions=uploads, labels=moves))


def trace_rows(
    rng: random.Random, index: int, trace_id: str, n_obs: int, start: datetime, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    user = f"user-{int(rng.paretovariate(1.2)) % 2000:04d}"
    tags = rng.sample(TAGS, rng.randint(0, 2))
    offset, obs = 0.0, []
    for j in range(n_obs):
        kind = "span" if j == 0 else rng.choice(("generation", "generation", "span", "event"))
        duration = 0.0 if kind == "event" else rng.uniform(0.05, 2.5)
        begin = start + timedelta(seconds=offset)
        # Every row carries every column: an executemany takes its columns from the first.
        row: dict[str, Any] = dict.fromkeys(GENERATION_COLUMNS)
        row |= {
            "id": f"{trace_id[-12:]}{j:04x}",
            "trace_id": trace_id,
            "parent_id": None if j == 0 else f"{trace_id[-12:]}{0:04x}",
            "type": kind,
            "name": f"{kind}-{j}",
            "start_time": begin,
            "end_time": begin + timedelta(seconds=duration),
            "latency_ms": duration * 1000,
            "level": "ERROR" if rng.random() < 0.003 else None,
            "input": json.dumps({"question": f"q{index}-{j}"}),
            "output": json.dumps({"answer": f"a{index}-{j}"}),
            "created_at": now,
        }
        if kind == "generation":
            model = rng.choice(list(MODELS))
            tokens_in, tokens_out = rng.randint(50, 3000), rng.randint(10, 800)
            prompt = rng.choice(PROMPTS)
            row.update(
                model=model,
                model_parameters=json.dumps({"temperature": 0.2}),
                usage_input=tokens_in,
                usage_output=tokens_out,
                usage_total=tokens_in + tokens_out,
                cost_input=tokens_in * MODELS[model],
                cost_output=tokens_out * MODELS[model] * 4,
                cost_total=(tokens_in + tokens_out * 4) * MODELS[model],
                cost_source="computed",
                prompt_name=prompt,
                prompt_version=rng.randint(VERSIONS - 1, VERSIONS),
                prompt_label="production",
                prompt_hash="h" * 64,
            )
        obs.append(row)
        if kind != "event":
            offset += duration * rng.uniform(0.3, 1.0)
    end = max(o["end_time"] for o in obs)
    trace = {
        "id": trace_id,
        "name": rng.choice(NAMES),
        "user_id": user,
        "session_id": f"session-{index // 5:06d}",
        "environment": "production",
        "tags": tags,
        "input": json.dumps({"question": f"question {index}"}),
        "output": json.dumps({"answer": f"answer {index}"}),
        "start_time": start,
        "end_time": end,
        "latency_ms": (end - start).total_seconds() * 1000,
        "created_at": now,
        "updated_at": now,
    }
    tag_rows = [{"trace_id": trace_id, "tag": tag} for tag in tags]
    score_rows = []
    if rng.random() < 0.3:
        score_rows.append(
            {
                "id": f"s{index:015x}",
                "name": "quality",
                "value": round(rng.random(), 2),
                "data_type": "numeric",
                "trace_id": trace_id,
                "source": "api",
                "timestamp": end,
                "created_at": now,
            }
        )
    return trace, obs, tag_rows, score_rows


def generate(store: Store, n_traces: int, n_obs: int) -> None:
    migrate.upgrade(store.engine)
    publish_prompts(store)
    rng = random.Random(6)
    now = datetime.now(UTC)
    # Rows go in in time order, as live ingest writes them; the newest trace is the big one.
    starts = sorted(now - timedelta(seconds=rng.random() * DAYS * 86400) for _ in range(n_traces))
    starts[-1] = now - timedelta(seconds=1)
    per_trace = [0] * (n_traces - 1) + [200]
    left = n_obs - 200
    for i in range(n_traces - 1):
        share = left // (n_traces - 1 - i)
        last = i == n_traces - 2
        per_trace[i] = left if last else max(1, min(left, share + rng.randint(-4, 4)))
        left -= per_trace[i]
    started = time.perf_counter()
    for first in range(0, n_traces, CHUNK):
        batch: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])
        for i in range(first, min(first + CHUNK, n_traces)):
            trace_id = BIG_TRACE if i == n_traces - 1 else f"{i:032x}"
            made = trace_rows(rng, i, trace_id, per_trace[i], starts[i], now)
            for into, rows in zip(batch, made, strict=True):
                into.extend(rows if isinstance(rows, list) else [rows])
        with store.engine.begin() as conn:
            for table, rows in zip((traces, observations, trace_tags, scores), batch, strict=True):
                if rows:
                    conn.execute(insert(table), rows)
        done = min(first + CHUNK, n_traces)
        print(f"\r  {done:,} traces ({time.perf_counter() - started:.0f} s)", end="", flush=True)
    print()
    if store.backend == "postgresql":  # as autovacuum would; SQLite stores are never analyzed
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def count(store: Store) -> tuple[int, int]:
    try:
        with store.read() as conn:
            return (
                conn.execute(select(func.count()).select_from(traces)).scalar_one(),
                conn.execute(select(func.count()).select_from(observations)).scalar_one(),
            )
    except Exception:
        return 0, 0


def drop(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    store = Store.open(url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.close()


def ensure_postgres_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    from promptrail.store import open_engine

    parsed = make_url(url)
    admin = open_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if exists is None:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


PAGES = {
    "trace list": "/traces",
    "trace page (200 observations)": f"/traces/{BIG_TRACE}",
    "dashboard (30 days)": "/?days=30",
    "trace list, one user": "/traces?user=user-0001",
    "trace list, prompt version": f"/traces?prompt={PROMPTS[0]}&version={VERSIONS}",
    "trace list, errors only": "/traces?errors=1",
    "trace list, search 'tri'": "/traces?q=tri",
    "trace list, page 500": "/traces?page=500",
    "prompts": "/prompts",
    "prompt page": f"/prompts/{PROMPTS[0]}",
    "users (30 days)": "/users?days=30",
    "sessions": "/sessions",
    "metrics API by model": "/api/v1/metrics?group_by=model",
    "metrics API by day": "/api/v1/metrics?group_by=day",
    "metrics API by prompt version": (
        f"/api/v1/metrics?group_by=prompt_version&prompt_name={PROMPTS[0]}"
    ),
}
GOALS = set(PAGES)  # every page and the metrics API
FIRST_VIEW = {"dashboard (30 days)"}  # after a bulk load (--cold): no backfill in the request


def time_pages(url: str, repeat: int) -> bool:
    ok = True
    with (
        ServerProcess(url, extra_args=["--log-level", "warning"]) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        print(f"{'page':36} {'first':>9} {'median':>9} {'slowest':>9}")
        for title, path in PAGES.items():
            timings, first = [], 0.0
            for i in range(repeat + 1):
                started = time.perf_counter()
                response = http.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
                if i:  # the first request warms caches (and sums past days, once)
                    timings.append(elapsed)
                else:
                    first = elapsed
            median = statistics.median(timings)
            goal = ""
            if title in GOALS:
                worst = max(median, first) if title in FIRST_VIEW else median
                goal = "  ok" if worst < GOAL_MS else f"  OVER {GOAL_MS:.0f} ms"
                ok = ok and worst < GOAL_MS
            line = f"{title:36} {first:7.0f} ms {median:7.0f} ms {max(timings):7.0f} ms{goal}"
            print(line, flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'out' / 'ui.db'}")
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the store")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument(
        "--cold", action="store_true", help="forget the stored daily totals first (a backfill)"
    )
    args = parser.parse_args()
    if args.db.startswith("postgres"):
        ensure_postgres_database(args.db)
    if args.fresh:
        drop(args.db)
    store = Store.open(args.db)
    have = count(store)
    if have != (args.traces, args.observations):
        if have != (0, 0):
            store.close()
            drop(args.db)
            store = Store.open(args.db)
        print(f"generating {args.traces:,} traces, {args.observations:,} observations")
        generate(store, args.traces, args.observations)
    migrate.upgrade(store.engine)  # a store made before a newer migration (indexes) gets it
    if args.cold:  # the dashboard's first view then sums every past day again
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM ui_days"))
    have = count(store)
    store.close()
    print(f"store: {store.backend}, {have[0]:,} traces, {have[1]:,} observations")
    if not args.generate_only and not time_pages(args.db, args.repeat):
        sys.exit(1)


if __name__ == "__main__":
    main()
