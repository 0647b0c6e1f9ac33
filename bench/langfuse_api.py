"""The Langfuse-compatible API's speed, beside promptrail's own, in one run on this machine.

    .venv/bin/python bench/langfuse_api.py [--seconds 2] [--rounds 5] [--db URL] [--spans 5000]

1. Prompt GETs: GET /api/public/v2/prompts/support%2Ftriage?label=production (the
   Langfuse shape, HTTP Basic with a key pair, as the SDK sends it) against GET
   /api/v1/prompts/support/triage?label=production (promptrail's own route, Bearer key),
   one `promptrail serve` process, keep-alive connections from a second process, 1 and
   16 at a time. The two alternate, round after round, so both see the same load.
   Goal: the Langfuse shape at >= 90% of the own route's requests/s (medians).
2. OTLP spans from the Langfuse SDK: the SDK (in its own process) traces 1 span + 4
   generations per request into a capturing endpoint; those exact protobuf bodies are then
   posted to /api/public/otel/v1/traces (fresh trace ids each round, 4 posts at a time)
   and the spans stored per second counted (the server answers once they are stored).
   The OpenTelemetry issue's goal: 20,000 spans/s.

Medians and minimums over the rounds are reported; the machine's load is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.server
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
NATIVE = "/api/v1/prompts/support/triage?label=production"
LANGFUSE = "/api/public/v2/prompts/support%2Ftriage?label=production"
OTLP = "/api/public/otel/v1/traces"


# -- load generator (a second process) ----------------------------------------------------------


def generate(port: int, path: str, auth: str, connections: int, seconds: float) -> None:
    """`connections` keep-alive sockets, one request at a time each; prints req/s and p99."""
    latencies: list[float] = []
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\r\n").encode()

    async def one(deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (start := time.perf_counter()) < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"{path}: {head[:60]!r}")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
        writer.close()

    async def main() -> float:
        warm = time.perf_counter() + 0.3
        await asyncio.gather(*(one(warm) for _ in range(connections)))
        latencies.clear()
        began = time.perf_counter()
        await asyncio.gather(*(one(began + seconds) for _ in range(connections)))
        return time.perf_counter() - began

    elapsed = asyncio.run(main())
    latencies.sort()
    print(json.dumps([len(latencies) / elapsed, latencies[int(len(latencies) * 0.99)] * 1000]))


def load(port: int, path: str, auth: str, connections: int, seconds: float) -> tuple[float, float]:
    args = [sys.executable, __file__, "--generate", str(port), path, auth, str(connections)]
    out = subprocess.run([*args, str(seconds)], check=True, capture_output=True, text=True)
    rps, p99 = json.loads(out.stdout)
    return rps, p99


# -- the Langfuse SDK producing spans (a third process) -----------------------------------------


def produce(base_url: str, traces: int) -> None:
    """Langfuse code: per trace, one span with four generations (model, usage)."""
    from langfuse import Langfuse

    client = Langfuse(public_key="pk-bench", secret_key="sk-bench", base_url=base_url)
    for n in range(traces):
        with client.start_as_current_observation(name="handle-request") as span:
            for k in range(4):
                with span.start_as_current_observation(
                    name=f"call-{k}", as_type="generation", model="gpt-4o-mini"
                ) as generation:
                    generation.update(
                        input=[{"role": "user", "content": f"question {n}.{k}"}],
                        output="an answer",
                        usage_details={"input": 40, "output": 12},
                    )
    client.flush()
    client.shutdown()


def capture_sdk_batches(traces: int) -> list[bytes]:
    """The protobuf bodies the SDK posts, caught by a local endpoint that stores nothing."""
    bodies: list[bytes] = []

    class Catch(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Catch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        env = {**os.environ, "LANGFUSE_OTEL_COMPRESSION": "none"}
        subprocess.run(
            [sys.executable, __file__, "--produce", url, str(traces)], check=True, env=env
        )
    finally:
        server.shutdown()
    return [b for b in bodies if b]


def with_new_ids(bodies: list[bytes]) -> tuple[list[bytes], int]:
    """The same requests with fresh trace ids (so a round inserts, not upserts); spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    mapping: dict[bytes, bytes] = {}  # old id -> new id, traces and spans alike
    out, spans = [], 0
    for body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    span.trace_id = mapping.setdefault(span.trace_id, uuid.uuid4().bytes)
                    span.span_id = mapping.setdefault(span.span_id, uuid.uuid4().bytes[:8])
                    if span.parent_span_id:
                        parent = span.parent_span_id
                        span.parent_span_id = mapping.setdefault(parent, uuid.uuid4().bytes[:8])
                    spans += 1
        out.append(request.SerializeToString())
    return out, spans


# -- the run ------------------------------------------------------------------------------------


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):>8.0f}  min {min(values):>8.0f}"


def measure_gets(port: int, bearer: str, basic: str, seconds: float, rounds: int) -> None:
    print(f"\nPrompt GETs: {rounds} rounds of {seconds:g} s per side, alternating\n")
    for connections in (1, 16):
        own: list[float] = []
        lf: list[float] = []
        for _ in range(rounds):
            own.append(load(port, NATIVE, bearer, connections, seconds)[0])
            lf.append(load(port, LANGFUSE, basic, connections, seconds)[0])
        ratio = statistics.median(lf) / statistics.median(own)
        print(f"  {connections:>2} conns  own route     req/s {_stats(own)}")
        print(f"  {connections:>2} conns  Langfuse shape req/s {_stats(lf)}  ({ratio:.0%} of own)")
        verdict = "met" if ratio >= 0.9 else "NOT met"
        print(f"  goal (Langfuse shape >= 90% of own route): {verdict}\n")


def measure_spans(url: str, basic: str, traces: int, rounds: int) -> None:
    import httpx

    bodies = capture_sdk_batches(traces)
    print(f"OTLP from the Langfuse SDK: {len(bodies)} requests caught; {rounds} rounds\n")
    rates: list[float] = []
    for _ in range(rounds):
        batch, spans = with_new_ids(bodies)
        headers = {"authorization": basic, "content-type": "application/x-protobuf"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:

            def post(body: bytes, http: httpx.Client = http) -> None:
                answer = http.post(OTLP, content=body)
                if answer.status_code != 200:
                    raise SystemExit(f"OTLP post answered {answer.status_code}: {answer.text}")

            began = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(post, batch))
            rates.append(spans / (time.perf_counter() - began))
    print(f"  {spans} spans per round, stored/s {_stats(rates)}")
    verdict = "met" if statistics.median(rates) >= 20_000 else "NOT met"
    print(f"  goal (>= 20,000 spans/s, the OpenTelemetry issue's): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", default=None, help="database URL (default: a temp SQLite)")
    parser.add_argument("--spans", type=int, default=5000, help="spans per OTLP round")
    args = parser.parse_args()

    from registry.kit import chat_version, request

    from promptrail.api.client import RegistryClient
    from promptrail.store import Store, migrate
    from serverproc import ServerProcess

    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{Path(tmp) / 'registry.db'}"
        store = Store.open(db)
        migrate.upgrade(store.engine)
        pair = store.create_key(["read", "ingest"], "bench", pair=True)
        admin = store.create_key(["admin"], "bench admin")
        store.close()
        basic = "Basic " + base64.b64encode(f"{pair.public_key}:{pair.key}".encode()).decode()
        messages = [
            {"role": "system", "content": "You triage support tickets for {{product}}."},
            {"role": "placeholder", "name": "history"},
            {"role": "user", "content": "{{ticket}}"},
        ]
        with ServerProcess(db, auth=True, log_path=Path(tmp) / "server.log") as proc:
            with RegistryClient(proc.url, admin.key) as client:
                version = chat_version("support/triage", 1, messages, model="gpt-4o-mini")
                client.publish(request([version], [("support/triage", "production", 1, None)]))
            measure_gets(proc.port, f"Bearer {admin.key}", basic, args.seconds, args.rounds)
            measure_spans(proc.url, basic, max(1, args.spans // 5), args.rounds)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        port, path, auth, conns, secs = sys.argv[2:7]
        generate(int(port), path, auth, int(conns), float(secs))
    elif sys.argv[1:2] == ["--produce"]:
        produce(sys.argv[2], int(sys.argv[3]))
    else:
        main()
