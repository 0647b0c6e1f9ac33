"""OTLP ingest beside the native ingest, and the tracer's caller-thread cost with the OTLP
exporter on and off, in one run on this machine.

    .venv/bin/python bench/otlp.py [--quick] [--skip-postgres] [--skip-overhead]

Ingest: batches of 500 spans, encoded beforehand, posted by one and by four client
threads to a real `promptrail serve` (one process) on SQLite and PostgreSQL: OTLP/HTTP
protobuf to /v1/traces, and the same observations as gzip JSON to /api/v1/ingest, in
alternating rounds so both see the same load. A quarter of the spans are LLM calls with
GenAI attributes (model, usage: priced on ingest). Goal: >= 20,000 spans stored per
second, and OTLP no slower than native. Reported: median and best round.

Overhead: `@observe` on a trivial function, the bare call subtracted, with the export
going to promptrail's ingest (native), to an OTLP endpoint (otlp), or to both (beside),
all to one local sink process; rounds alternate. Goal: otlp and beside no dearer than
native (the encoding happens on the export thread).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


def _bench_tracing() -> Any:
    """bench/tracing.py (its batches and sink), by path: tests/tracing takes the name."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_tracing", ROOT / "bench" / "tracing.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_native = _bench_tracing()
native_batch, sink, trivial = _native._batch, _native.sink, _native.trivial

PER_BATCH = 500


def otlp_batch(n: int) -> bytes:
    """An ExportTraceServiceRequest like `native_batch(n)`: one trace, n spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    def put(kvs: Any, key: str, value: Any) -> None:
        kv = kvs.add()
        kv.key = key
        if isinstance(value, int):
            kv.value.int_value = value
        else:
            kv.value.string_value = value

    now = time.time_ns()
    trace_id = uuid.uuid4().bytes
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    put(resource_spans.resource.attributes, "service.name", "bench")
    spans = resource_spans.scope_spans.add().spans
    root_id = os.urandom(8)
    for i in range(n):
        span = spans.add()
        span.trace_id = trace_id
        span.span_id = root_id if i == 0 else os.urandom(8)
        if i:
            span.parent_span_id = root_id
        span.name = f"step-{i % 10}"
        span.start_time_unix_nano, span.end_time_unix_nano = now, now + 1_000_000
        attrs = span.attributes
        if i == 0:
            put(attrs, "user.id", "u")
            put(attrs, "langfuse.trace.tags", "bench")
        put(attrs, "input.value", json.dumps({"question": "How do I reset my password?", "i": i}))
        put(attrs, "output.value", "Use the reset link on the login page.")
        if i % 4 == 0:
            put(attrs, "gen_ai.operation.name", "chat")
            put(attrs, "gen_ai.request.model", "gpt-4o-mini")
            put(attrs, "gen_ai.usage.input_tokens", 120)
            put(attrs, "gen_ai.usage.output_tokens", 30)
    return request.SerializeToString()


def post_all(
    url: str, path: str, headers: dict[str, str], bodies: list[bytes], threads: int
) -> float:
    """Spans stored per second posting `bodies` from `threads` clients."""
    import httpx

    queue = list(bodies)
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        with httpx.Client(timeout=120, headers=headers) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                response = client.post(url + path, content=body)
                if response.status_code != 200 or b"rejected" in response.content:
                    failures.append(response.text[:200])

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{path} failed: {failures[0]}")
    return len(bodies) * PER_BATCH / elapsed


NATIVE = ("/api/v1/ingest", {"Content-Type": "application/json", "Content-Encoding": "gzip"})
OTLP = ("/v1/traces", {"Content-Type": "application/x-protobuf"})


def server_cpu(pid: int) -> float:
    """CPU seconds the server process has used: a per-span cost the machine's load does not
    blur the way it blurs wall-clock rates."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingestion(
    url: str, pid: int, batches: int, rounds: int
) -> list[tuple[str, int, list[float], list[float]]]:
    import httpx

    with httpx.Client(timeout=60) as warm:  # first requests open pools, load prices
        warm.post(url + NATIVE[0], content=native_batch(10), headers=NATIVE[1])
        warm.post(url + OTLP[0], content=otlp_batch(10), headers=OTLP[1])
    rates: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for clients in (1, 4):
            for name, (path, headers), make in (
                ("native", NATIVE, native_batch),
                ("otlp", OTLP, otlp_batch),
            ):
                bodies = [make(PER_BATCH) for _ in range(batches)]
                before = server_cpu(pid)
                rate = post_all(url, path, headers, bodies, clients)
                used = server_cpu(pid) - before
                rates.setdefault((name, clients), []).append(rate)
                cpu.setdefault((name, clients), []).append(used / (batches * PER_BATCH) * 1e6)
    return [(name, clients, rates[key], cpu[key]) for key in rates for name, clients in [key]]


def overhead(quick: bool) -> dict[str, list[float]]:
    import promptrail
    import promptrail.tracing.tracer as tracer_module
    from promptrail.tracing import FanoutExporter, HttpExporter, OtlpExporter, Tracer

    calls, rounds = (2_000, 5) if quick else (5_000, 15)
    out: dict[str, list[float]] = {}
    flat = promptrail.observe()(trivial)

    def per_call(fn: Callable[[], Any]) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - started) / calls

    with sink() as url:
        tracers = {
            "native": lambda: Tracer(exporter=HttpExporter(url), max_queue=100_000),
            "otlp": lambda: Tracer(exporter=OtlpExporter(url + "/v1/traces"), max_queue=100_000),
            "beside": lambda: Tracer(
                exporter=FanoutExporter([HttpExporter(url), OtlpExporter(url + "/v1/traces")]),
                max_queue=100_000,
            ),
        }
        made = {name: make() for name, make in tracers.items()}
        for _ in range(rounds):
            bare = per_call(lambda: trivial(1))
            for name, tracer in made.items():
                tracer_module.active = tracer
                seconds = per_call(lambda: flat(1))
                out.setdefault(name, []).append(max(0.0, seconds - bare))
                tracer.flush(60)  # untimed: the export thread catches up between rounds
        for tracer in made.values():
            tracer.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and batches")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    from serverproc import ServerProcess

    batches, rounds = (10, 3) if args.quick else (30, 5)
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    started = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
    results: list[tuple[str, str, int, list[float], list[float]]] = []

    def run(backend: str, server: Any) -> None:
        assert server.process is not None
        for row in ingestion(server.url, server.process.pid, batches, rounds):
            results.append((backend, *row))

    with tempfile.TemporaryDirectory() as tmp:
        with ServerProcess(f"sqlite:///{tmp}/bench.db") as server:
            run("SQLite", server)
        if not args.skip_postgres:
            from conftest import fresh_postgres_database

            try:
                with fresh_postgres_database() as db, ServerProcess(db) as server:
                    run("PostgreSQL", server)
            except BaseException as exc:  # pytest.skip outside pytest: no server
                print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
    print(f"\ningest from {started} UTC, batches of {PER_BATCH}, {rounds} rounds:")
    print("spans stored per second (wall clock), and the server's CPU microseconds per span")
    print(
        f"{'backend':<12}{'api':<8}{'clients':>8}{'median/s':>11}{'best/s':>10}"
        f"{'cpu us median':>15}{'min':>8}"
    )
    for backend, name, clients, rates, cpu in results:
        print(
            f"{backend:<12}{name:<8}{clients:>8}{statistics.median(rates):>11,.0f}"
            f"{max(rates):>10,.0f}{statistics.median(cpu):>15.1f}{min(cpu):>8.1f}"
        )
    if not args.skip_overhead:
        costs = overhead(args.quick)
        print("\n@observe on the caller's thread (us per call, bare call subtracted)")
        print(f"{'export':<10}{'median':>10}{'min':>10}")
        for name, values in costs.items():
            print(f"{name:<10}{statistics.median(values) * 1e6:>10.2f}{min(values) * 1e6:>10.2f}")
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
