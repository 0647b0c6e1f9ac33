"""W3C trace context: an HTTP client call and a server handler in two processes form one
trace; `traceparent` is parsed strictly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

import promptrail.tracing.tracer as tracer_module
from promptrail.tracing import Tracer, continue_trace, extract, inject, observe
from serverproc import free_port

from .conftest import OtelServer


def test_a_context_propagated_over_http_joins_two_processes_into_one_trace(
    otel_server: OtelServer,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(["src", *sys.path]),
        "PROMPTRAIL_URL": otel_server.url,
        "PROMPTRAIL_API_KEY": otel_server.secret_key,
    }
    service = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("downstream.py")), str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    previous = tracer_module.active
    tracer = Tracer(otel_server.url, otel_server.secret_key, flush_interval=0.05)
    tracer_module.active = tracer
    try:
        assert service.stdout is not None
        assert service.stdout.readline().strip() == "ready"

        @observe(name="frontend request")
        def call() -> dict[str, str]:
            headers = inject()
            assert headers["traceparent"].startswith("00-")
            return httpx.get(f"http://127.0.0.1:{port}/orders", headers=headers).json()  # type: ignore[no-any-return]

        answer = call()
        assert tracer.flush(5)
    finally:
        tracer.shutdown(timeout=2)
        tracer_module.active = previous
        service.terminate()
        service.wait(10)
        if service.stdout is not None:
            service.stdout.close()

    trace = otel_server.trace(answer["trace_id"], spans=3)
    assert [(o["name"], o["depth"]) for o in trace["observations"]] == [
        ("frontend request", 0),
        ("downstream handler", 1),
        ("downstream work", 2),
    ]
    assert trace["name"] == "frontend request"  # the first process names the trace


def test_traceparent_is_read_strictly_and_written_back() -> None:
    good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert extract({"traceparent": good}) == (
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
    )
    assert extract({"TraceParent": good.upper()}) is not None  # header names are any case
    for bad in (
        "",
        "garbage",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # no flags
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero span id
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # 31 digits
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # v00 has no tail
    ):
        assert extract({"traceparent": bad}) is None, bad
    assert extract({}) is None
    assert inject() == {}  # no trace: nothing to propagate
    with continue_trace({"traceparent": good}):
        assert inject()["traceparent"] == good
    assert inject() == {}
