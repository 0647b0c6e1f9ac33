"""The tracer's export path: CPU per span beside OpenTelemetry's OTLP exporter, bytes per
span, and bursts against a real `promptrail serve` that must lose nothing.

    .venv/bin/python bench/export.py [--quick] [--postgres]

Export CPU: the same recorded spans (nine inner spans with a small argument under one
outer span) handed to promptrail's HTTP exporter in batches of 1,000 (the default batch)
and, as OpenTelemetry SDK spans with the same names and a small attribute, to
`OTLPSpanExporter` (HTTP/protobuf) in batches of 512 (BatchSpanProcessor's default),
both posting to one local sink process. The figure is the exporting thread's CPU time
(`time.thread_time`) per span: encoding, compression and the HTTP client, not the wait.
Goal: <= 10 us per span. Rounds alternate the two; median and minimum of the rounds.

Bursts: 20,000 and 100,000 decorated calls in a tight loop (one outer span per 40
calls, so 20,500 and 102,500 spans) with the tracer's default settings against a real
`promptrail serve` on SQLite (and PostgreSQL with --postgres); then `flush()`, and the
rows in the server's database are counted. Goal: 0 spans lost.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

from sink import sink  # noqa: E402


def _recorded(traces: int) -> list[Any]:
    """Spans as the tracer records them: nine inner calls with an int argument per trace."""
    import promptrail
    import promptrail.tracing.tracer as tracer_module
    from promptrail.tracing import Tracer

    tracer = Tracer(enabled=True)  # no destination: we collect what it would send
    items: list[Any] = []
    tracer._emit = items.append
    previous, tracer_module.active = tracer_module.active, tracer

    @promptrail.observe()
    def inner(x: int) -> int:
        return x + 1

    @promptrail.observe()
    def outer() -> int:
        return sum(inner(i) for i in range(9))

    for _ in range(traces):
        outer()
    tracer_module.active = previous
    return items


def _otel_spans(traces: int) -> list[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for _ in range(traces):
        with tracer.start_as_current_span("outer"):
            for i in range(9):
                with tracer.start_as_current_span("inner") as span:
                    span.set_attribute("input", f'{{"x":{i}}}')
                    span.set_attribute("output", str(i + 1))
    spans = list(memory.get_finished_spans())
    provider.shutdown()
    return spans


def export_cpu(quick: bool) -> list[dict[str, Any]]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from promptrail.tracing.events import EventBuilder
    from promptrail.tracing.exporter import HttpExporter

    traces = 300 if quick else 1_000
    rounds = 3 if quick else 7
    ours_items = _recorded(traces)
    theirs_spans = _otel_spans(traces)
    rows: dict[str, list[float]] = {"promptrail HttpExporter": [], "OpenTelemetry OTLP/HTTP": []}
    sizes: dict[str, float] = {}
    with sink() as url:
        ours = HttpExporter(url)
        builder = EventBuilder()
        theirs = OTLPSpanExporter(endpoint=f"{url}/v1/traces")
        ours.export_batch(ours_items[:10], builder)  # imports and connections, untimed
        theirs.export(theirs_spans[:10])
        for _ in range(rounds):
            ours.bytes_sent = 0
            started = time.thread_time()
            for i in range(0, len(ours_items), 1000):
                ours.export_batch(ours_items[i : i + 1000], builder)
            rows["promptrail HttpExporter"].append((time.thread_time() - started) / len(ours_items))
            sizes["promptrail HttpExporter"] = ours.bytes_sent / len(ours_items)
            started = time.thread_time()
            for i in range(0, len(theirs_spans), 512):
                theirs.export(theirs_spans[i : i + 512])
            rows["OpenTelemetry OTLP/HTTP"].append(
                (time.thread_time() - started) / len(theirs_spans)
            )
        ours.close()
        theirs.shutdown()
    sizes["OpenTelemetry OTLP/HTTP"] = _otlp_bytes(theirs_spans)
    return [
        {
            "exporter": name,
            "median_us": statistics.median(times) * 1e6,
            "min_us": min(times) * 1e6,
            "bytes_per_span": sizes.get(name),
        }
        for name, times in rows.items()
    ]


def _otlp_bytes(spans: list[Any]) -> float:
    """What OTLP/HTTP sends per span: protobuf, and gzip as its `compression` option does."""
    import gzip

    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    total = 0
    for i in range(0, len(spans), 512):
        total += len(gzip.compress(encode_spans(spans[i : i + 512]).SerializeToString()))
    return total / len(spans)


# -- bursts -------------------------------------------------------------------------------


def _count_rows(db_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM observations")).scalar_one())
    finally:
        engine.dispose()


def burst(db_url: str, calls: int) -> dict[str, Any]:
    import promptrail
    import promptrail.tracing.tracer as tracer_module
    from promptrail.tracing import Tracer
    from serverproc import ServerProcess

    with ServerProcess(db_url) as server:
        tracer = Tracer(server.url)  # the defaults: queue bound, batch size, interval
        previous, tracer_module.active = tracer_module.active, tracer

        @promptrail.observe()
        def step(i: int) -> int:
            return i * 2

        @promptrail.observe()
        def request(first: int) -> int:
            return sum(step(i) for i in range(first, first + 40))

        peak = 0
        started = time.perf_counter()
        for first in range(0, calls, 40):
            request(first)
            peak = max(peak, tracer.queue_size)
        recorded = time.perf_counter() - started
        drained = tracer.flush(300)
        total = time.perf_counter() - started
        spans = calls + calls // 40
        stored = _count_rows(db_url)
        result = {
            "calls": calls,
            "spans": spans,
            "stored": stored,
            "lost": spans - stored,
            "dropped": tracer.dropped,
            "failed": tracer.failed,
            "flushed": drained,
            "peak_queue": peak,
            "caller_us_per_span": recorded / spans * 1e6,
            "seconds_to_stored": total,
        }
        tracer.shutdown()
        tracer_module.active = previous
    return result


def bursts(quick: bool, postgres: bool) -> list[dict[str, Any]]:
    sizes = (2_000, 20_000) if quick else (20_000, 100_000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            url = f"sqlite:///{tmp}/burst-{n}.db"
            rows.append({"backend": "SQLite", **burst(url, n)})
        if postgres:
            from conftest import fresh_postgres_database

            for n in sizes:
                try:
                    with fresh_postgres_database() as db:
                        rows.append({"backend": "PostgreSQL", **burst(db, n)})
                except BaseException as exc:  # pytest.skip outside pytest: no server
                    print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
                    break
    return rows


def main() -> None:
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller bursts, fewer rounds")
    parser.add_argument("--postgres", action="store_true", help="bursts on PostgreSQL too")
    args = parser.parse_args()

    print("\nexport CPU on the exporting thread (us per span; median / min of rounds)")
    print(f"{'exporter':<28}{'median':>10}{'min':>10}{'gzip bytes/span':>18}")
    for row in export_cpu(args.quick):
        size = row["bytes_per_span"]
        print(
            f"{row['exporter']:<28}{row['median_us']:>10.2f}{row['min_us']:>10.2f}"
            f"{'' if size is None else f'{size:.1f}':>18}"
        )

    print("\nbursts against `promptrail serve`, default tracer settings")
    print(
        f"{'backend':<12}{'spans':>9}{'stored':>9}{'lost':>6}{'dropped':>9}{'peak queue':>12}"
        f"{'caller us/span':>16}{'s to stored':>13}"
    )
    for row in bursts(args.quick, args.postgres):
        print(
            f"{row['backend']:<12}{row['spans']:>9,}{row['stored']:>9,}{row['lost']:>6}"
            f"{row['dropped']:>9}{row['peak_queue']:>12,}{row['caller_us_per_span']:>16.2f}"
            f"{row['seconds_to_stored']:>13.1f}"
        )


if __name__ == "__main__":
    main()
