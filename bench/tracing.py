"""The tracer's cost on the caller's thread, next to Langfuse and OpenTelemetry, and the
server's ingestion rate, in one run on this machine.

    .venv/bin/pip install -e '.[bench]'     # langfuse and opentelemetry-sdk, bench only
    .venv/bin/python bench/tracing.py [--quick] [--skip-ingest] [--skip-postgres]

Overhead: a trivial function, decorated, called in rounds on the caller's thread (the
exporters flush between rounds, untimed, so no queue fills up); the figure is the time
per call minus the bare call. promptrail and Langfuse both export over HTTP to one local
sink process that accepts anything; the bare OpenTelemetry SDK span goes through a
BatchSpanProcessor to an in-memory exporter. "nested" is an outer span with nine inner
ones, per span. Goals: <= 5 us per span (>= 50x less than Langfuse, below a bare OTel
span), < 0.5 us disabled, and a large argument no dearer than a small one.

The Langfuse "disabled" case runs in a process of its own (in this one, the resource
manager the enabled client made keeps exporting) and is checked to send nothing.

Ingestion: batches (gzip, encoded beforehand) posted by one and by four client threads
to a real `promptrail serve` on SQLite and on PostgreSQL, in both wire versions: v1
events in batches of 500 and v2 records (the SDK's own encoder) in batches of 1,000; on
PostgreSQL also four clients against `serve --workers 2`. Goals (v2): >= 30,000
observations stored per second on SQLite, >= 50,000 on PostgreSQL, rising with workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

from sink import posts, sink  # noqa: E402


def per_call(
    fn: Callable[[], Any], flush: Callable[[], Any], calls: int, rounds: int
) -> tuple[float, float]:
    """(median, minimum) seconds per call over `rounds` rounds of `calls` calls; flush
    between rounds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - started) / calls)
        flush()
    return statistics.median(times), min(times)


def trivial(x: int) -> int:
    return x + 1


BIG = {f"key{i}": {"text": "lorem ipsum " * 20, "n": i} for i in range(500)}


def _nested(observe: Callable[..., Any]) -> Callable[[], Any]:
    inner = observe()(trivial)

    @observe()
    def outer() -> int:
        total = 0
        for i in range(9):
            total += inner(i)
        return total

    return outer


Row = tuple[str, str, float, float]  # tool, case, median and minimum seconds per span


def overhead(quick: bool) -> list[Row]:
    calls, rounds = (2_000, 5) if quick else (5_000, 11)
    rows: list[Row] = []

    def record(
        tool: str,
        case: str,
        fn: Callable[[], Any],
        flush: Callable[[], Any],
        spans: int = 1,
        n: int | None = None,
    ) -> None:
        median, minimum = per_call(fn, flush, (n or calls) // spans, rounds)
        rows.append((tool, case, max(0.0, median / spans - bare), max(0.0, minimum / spans - bare)))

    bare = per_call(lambda: trivial(1), lambda: None, calls, rounds)[1]

    import promptrail
    import promptrail.tracing.tracer as tracer_module
    from promptrail.tracing import Tracer

    with sink() as url:
        tracer = promptrail.configure(url=url, max_queue=100_000, flush_interval=0.5)
        flat = promptrail.observe()(trivial)
        record("promptrail", "flat", lambda: flat(1), lambda: tracer.flush(30))
        record(
            "promptrail",
            "nested (per span)",
            _nested(promptrail.observe),
            lambda: tracer.flush(30),
            10,
        )
        # Rounds below the batch size: the caller's own cost, not the export thread's share
        # of the GIL while it serializes hundreds of copies of a 130 kB argument.
        with_big = promptrail.observe()(lambda data: len(data))
        big_call = lambda: with_big(BIG)  # noqa: E731
        record("promptrail", "large argument", big_call, lambda: tracer.flush(30), n=200)
        record("json.dumps once", "large argument", lambda: json.dumps(BIG), lambda: None, n=200)
        tracer.shutdown()
        tracer_module.active = Tracer(enabled=False)
        record("promptrail", "disabled", lambda: flat(1), lambda: None)

        try:
            rows += _langfuse(url, record)
            rows += _langfuse_disabled(url, calls, rounds, bare)
        except ImportError:
            print("langfuse is not installed: pip install -e '.[bench]'", file=sys.stderr)
    try:
        rows += _otel(record)
    except ImportError:
        print("opentelemetry-sdk is not installed: pip install -e '.[bench]'", file=sys.stderr)
    return rows


def _langfuse(url: str, record: Callable[..., None]) -> list[Any]:
    os.environ.setdefault("LANGFUSE_PUBLIC_KEY", "pk-lf-bench")
    os.environ.setdefault("LANGFUSE_SECRET_KEY", "sk-lf-bench")
    from langfuse import Langfuse, observe

    client = Langfuse(public_key="pk-lf-bench", secret_key="sk-lf-bench", host=url)
    flat = observe()(trivial)
    record("langfuse", "flat", lambda: flat(1), client.flush)
    record("langfuse", "nested (per span)", _nested(observe), client.flush, 10)
    with_big = observe()(lambda data: len(data))
    record("langfuse", "large argument", lambda: with_big(BIG), client.flush, n=200)
    client.shutdown()
    return []


_LANGFUSE_DISABLED = """
import json, os, statistics, sys, time
from langfuse import Langfuse, observe
calls, rounds, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
client = Langfuse(public_key="pk-lf-off", secret_key="sk-lf-off", host=url,
                  tracing_enabled=False)
def trivial(x):
    return x + 1
flat = observe()(trivial)
times = []
for _ in range(rounds):
    started = time.perf_counter()
    for _ in range(calls):
        flat(1)
    times.append((time.perf_counter() - started) / calls)
client.flush()
client.shutdown()
print(json.dumps([statistics.median(times), min(times)]))
"""


def _langfuse_disabled(url: str, calls: int, rounds: int, bare: float) -> list[Row]:
    """Langfuse with tracing off, in a process of its own: in this one its resource
    manager, made by the enabled client above, would keep exporting (as the previous
    version of this bench did: all 2,000 spans went out). Checked: the sink gets no POST."""
    before = posts(url)
    out = subprocess.run(
        [sys.executable, "-c", _LANGFUSE_DISABLED, str(calls), str(rounds), url],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("LANGFUSE")},
    )
    median, minimum = json.loads(out.stdout.strip().splitlines()[-1])
    sent = posts(url) - before
    if sent:
        raise SystemExit(f"langfuse 'disabled' still exported ({sent} requests): bench is wrong")
    return [
        (
            "langfuse",
            "disabled (0 requests sent)",
            max(0.0, median - bare),
            max(0.0, minimum - bare),
        )
    ]


def _otel(record: Callable[..., None]) -> list[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")

    def span() -> int:
        with tracer.start_as_current_span("trivial"):
            return trivial(1)

    def nested() -> int:
        with tracer.start_as_current_span("outer"):
            total = 0
            for i in range(9):
                with tracer.start_as_current_span("inner"):
                    total += trivial(i)
            return total

    def flush() -> None:
        provider.force_flush()
        exporter.clear()

    record("opentelemetry-sdk", "flat", span, flush)
    record("opentelemetry-sdk", "nested (per span)", nested, flush, 10)
    provider.shutdown()
    return []


# -- ingestion --------------------------------------------------------------------------------


def _batch(n: int) -> bytes:
    trace_id = uuid.uuid4().hex
    # Live traces are recent: older ones also fire the web UI's roll-up triggers.
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    events: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4().hex,
            "type": "trace-create",
            "body": {
                "id": trace_id,
                "name": "bench",
                "user_id": "u",
                "start_time": now,
                "end_time": now,
                "tags": ["bench"],
            },
        },
    ]
    for i in range(n):
        body: dict[str, Any] = {
            "id": uuid.uuid4().hex[:16],
            "trace_id": trace_id,
            "name": f"step-{i % 10}",
            "type": "span",
            "start_time": now,
            "end_time": now,
            "input": {"question": "How do I reset my password?", "i": i},
            "output": "Use the reset link on the login page.",
        }
        if i % 4 == 0:
            body |= {
                "type": "generation",
                "model": "gpt-4o-mini",
                "usage": {"input": 120, "output": 30},
            }
        events.append({"id": uuid.uuid4().hex, "type": "observation-create", "body": body})
    return gzip.compress(json.dumps({"batch": events}).encode(), 5)


def _compact_batch(n: int) -> bytes:
    """The same observations as the SDK sends them: version 2, made by its own encoder."""
    from promptrail.tracing import Tracer
    from promptrail.tracing.events import EventBuilder
    from promptrail.tracing.wire import CompactEncoder

    tracer = Tracer(enabled=True)
    items: list[Any] = []
    tracer._emit = items.append
    root = tracer.start_span("bench", input={"question": "How do I reset my password?"})
    root.update_trace(user_id="u", tags=["bench"])
    for i in range(n - 1):
        if i % 4 == 0:
            child = root.start_generation(
                f"step-{i % 10}", model="gpt-4o-mini", input={"q": "reset?", "i": i}
            )
            child.update(usage={"input": 120, "output": 30})
        else:
            child = root.start_span(f"step-{i % 10}", input={"q": "reset?", "i": i})
        child.end(output="Use the reset link on the login page.")
    root.end(output="done")
    body, _ = CompactEncoder(EventBuilder(), "bench", "0").encode(items)
    return gzip.compress(body, 1)


def ingest_rate(url: str, bodies: list[bytes], per_batch: int, threads: int) -> float:
    import httpx

    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    with httpx.Client(timeout=60) as warm:
        warm.post(f"{url}/api/v1/ingest", content=_batch(10), headers=headers)
    queue = list(bodies)
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        with httpx.Client(timeout=60, headers=headers) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                response = client.post(f"{url}/api/v1/ingest", content=body)
                if response.status_code != 200:
                    failures.append(response.text[:200])

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"ingest failed: {failures[0]}")
    return len(bodies) * per_batch / elapsed


IngestRow = tuple[str, str, str, float]  # backend, wire, setup, observations per second


def ingestion(quick: bool, postgres: bool) -> list[IngestRow]:
    """Version 1 (batches of 500, as before) and version 2 (the SDK's, batches of 1,000),
    1 and 4 client threads; on PostgreSQL also 4 clients against `serve --workers 2`."""
    from serverproc import ServerProcess

    batches = 10 if quick else 40
    v1 = [_batch(500) for _ in range(batches * 2)]
    v2 = [_compact_batch(1000) for _ in range(batches)]
    rows: list[IngestRow] = []

    def measure(name: str, url: str, clients: tuple[int, ...], setup: str = "") -> None:
        for n in clients:
            label = setup or f"{n} client{'s' if n > 1 else ''}"
            rows.append((name, "v1", label, ingest_rate(url, v1, 500, n)))
            rows.append((name, "v2", label, ingest_rate(url, v2, 1000, n)))

    with tempfile.TemporaryDirectory() as tmp:
        with ServerProcess(f"sqlite:///{tmp}/bench.db") as server:
            measure("SQLite", server.url, (1, 4))
        if postgres:
            from conftest import fresh_postgres_database

            try:
                with fresh_postgres_database() as db:
                    with ServerProcess(db) as server:
                        measure("PostgreSQL", server.url, (1, 4))
                    # Two processes start slower, the more so on a busy machine.
                    workers = ServerProcess(db, extra_args=["--workers", "2"]).start(timeout=90)
                    try:
                        measure("PostgreSQL", workers.url, (4,), "4 clients, --workers 2")
                    finally:
                        workers.stop()
            except BaseException as exc:  # pytest.skip outside pytest: no server
                print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
    return rows


def main() -> None:
    logging.disable(logging.WARNING)  # Langfuse complains about the large-argument batches
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and batches")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    rows = overhead(args.quick)
    ours = {case: median for tool, case, median, _ in rows if tool == "promptrail"}
    print("\nper-call overhead on the caller's thread (us; bare call subtracted)")
    print(f"{'tool':<20}{'case':<30}{'median':>10}{'min':>10}{'vs promptrail':>16}")
    for tool, case, median, minimum in rows:
        base = ours.get(case.split(" (")[0])
        ratio = "" if tool == "promptrail" or not base else f"{median / base:,.0f}x"
        print(f"{tool:<20}{case:<30}{median * 1e6:>10.2f}{minimum * 1e6:>10.2f}{ratio:>16}")

    if not args.skip_ingest:
        print("\ningestion (observations stored per second, gzip; v1 batches of 500, v2 of 1,000)")
        for backend, wire, setup, rate in ingestion(args.quick, not args.skip_postgres):
            print(f"{backend:<14}{wire:<5}{setup:<26}{rate:>10,.0f}")


if __name__ == "__main__":
    main()
