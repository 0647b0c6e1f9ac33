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

Ingestion: batches of 500 observations (gzip JSON, encoded beforehand) posted by one and
by four client threads to a real `promptrail serve` (one process) on SQLite and on
PostgreSQL. Goal: >= 20,000 observations stored per second.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

SINK = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def _ok(self):
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        body = b'{"successes": [], "errors": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_PUT = do_GET = _ok
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


@contextlib.contextmanager
def sink() -> Iterator[str]:
    """A local HTTP server in its own process that answers 200 to anything."""
    proc = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


def per_call(fn: Callable[[], Any], flush: Callable[[], Any], calls: int, rounds: int) -> float:
    """Median seconds per call over `rounds` rounds of `calls` calls; flush between rounds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - started) / calls)
        flush()
    return statistics.median(times)


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


def overhead(quick: bool) -> list[tuple[str, str, float]]:
    calls, rounds = (2_000, 5) if quick else (5_000, 11)
    rows: list[tuple[str, str, float]] = []

    def record(
        tool: str,
        case: str,
        fn: Callable[[], Any],
        flush: Callable[[], Any],
        spans: int = 1,
        n: int | None = None,
    ) -> None:
        seconds = per_call(fn, flush, (n or calls) // spans, rounds)
        rows.append((tool, case, max(0.0, seconds / spans - bare)))

    bare = per_call(lambda: trivial(1), lambda: None, calls, rounds)

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
    quiet = Langfuse(
        public_key="pk-lf-bench", secret_key="sk-lf-bench", host=url, tracing_enabled=False
    )
    record("langfuse", "disabled", lambda: flat(1), quiet.flush)
    return []


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


def ingest_rate(url: str, batches: int, per_batch: int = 500, threads: int = 4) -> float:
    import httpx

    bodies = [_batch(per_batch) for _ in range(batches)]
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
    return batches * per_batch / elapsed


def ingestion(quick: bool, postgres: bool) -> list[tuple[str, int, float]]:
    from serverproc import ServerProcess

    batches = 20 if quick else 60
    rows = []

    def measure(name: str, url: str) -> None:
        for clients in (1, 4):
            rows.append((name, clients, ingest_rate(url, batches, threads=clients)))

    with tempfile.TemporaryDirectory() as tmp:
        with ServerProcess(f"sqlite:///{tmp}/bench.db") as server:
            measure("SQLite", server.url)
        if postgres:
            from conftest import fresh_postgres_database

            try:
                with fresh_postgres_database() as db, ServerProcess(db) as server:
                    measure("PostgreSQL", server.url)
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
    ours = {case: us for tool, case, us in rows if tool == "promptrail"}
    print("\nper-call overhead on the caller's thread (us; bare call subtracted)")
    print(f"{'tool':<20}{'case':<22}{'us/span':>10}{'vs promptrail':>16}")
    for tool, case, seconds in rows:
        us = seconds * 1e6
        base = ours.get(case)
        ratio = "" if tool == "promptrail" or not base else f"{seconds / base:,.0f}x"
        print(f"{tool:<20}{case:<22}{us:>10.2f}{ratio:>16}")

    if not args.skip_ingest:
        print("\ningestion (observations stored per second, batches of 500, gzip)")
        for backend, clients, rate in ingestion(args.quick, not args.skip_postgres):
            label = f"{clients} client{'s' if clients > 1 else ''}"
            print(f"{backend:<20}{label:<22}{rate:>10,.0f}")


if __name__ == "__main__":
    main()
