"""The tracer with its server refusing, failing or blackholed: the application never sees
an exception, memory stays bounded, drops are counted, and exit waits at most its bound."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

import promptrail
import promptrail.tracing.tracer as tracer_module
from client.faultproxy import FaultProxy
from promptrail.tracing import observe
from reliability.conftest import size
from serverproc import ServerProcess, free_port

SOURCE = Path(promptrail.__file__).resolve().parents[1]  # the promptrail under test
CHILD = textwrap.dedent(
    """
    import sys, time
    import promptrail.tracing as tracing
    tracing.configure(sys.argv[1], flush_interval=0.05)

    @tracing.observe()
    def answer(i):
        return {"text": "x" * 200, "i": i}

    for i in range(2000):
        answer(i)
    print("recorded", time.time(), flush=True)
    """
)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("tracer")
    with ServerProcess(f"sqlite:///{folder / 'r.db'}") as proc:
        yield proc


@pytest.fixture(params=["refuse", "500", "blackhole"])
def broken(request: pytest.FixtureRequest, upstream: ServerProcess) -> Iterator[str]:
    if request.param == "refuse":
        yield f"http://127.0.0.1:{free_port()}"  # nothing listens there
        return
    with FaultProxy(upstream.url) as proxy:
        proxy.set_mode(request.param)
        yield proxy.url


def exit_time(url: str, **env: str) -> tuple[float, str]:
    """Seconds from the child's last traced call to its exit, and what it logged."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(SOURCE), **env},
    )
    ended = time.time()
    assert child.returncode == 0, child.stderr
    recorded = float(child.stdout.split()[1])
    return ended - recorded, child.stderr


def test_exit_waits_at_most_its_bound_and_says_what_it_dropped(broken: str) -> None:
    took, said = exit_time(broken)
    assert took < 2.0 + 1.0, f"exit took {took:.1f} s"
    assert "not delivered within the 2.0 s exit bound" in said
    assert "Traceback" not in said


def test_the_exit_bound_is_configurable(broken: str) -> None:
    took, said = exit_time(broken, PROMPTRAIL_SHUTDOWN_TIMEOUT="0.3")
    assert took < 0.3 + 1.0, f"exit took {took:.1f} s"
    assert "0.3 s exit bound" in said


def test_nothing_raises_memory_stays_bounded_and_drops_are_counted(broken: str, full: bool) -> None:
    calls = size(full, 20_000, 200_000)
    previous = tracer_module.active
    tracer = tracer_module.configure(
        broken, max_queue=1_000, flush_interval=0.01, max_retry_delay=0.05
    )

    @observe()
    def handle(i: int) -> dict[str, object]:
        return {"reply": "y" * 500, "i": i}

    tracemalloc.start()
    try:
        for i in range(calls):
            assert handle(i)["i"] == i
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        tracer_module.active = previous
    assert tracer.queue_size <= 1_000
    assert tracer.dropped > 0
    assert tracer.exported == 0
    assert peak < 40_000_000, f"{peak / 1e6:.0f} MB for {calls} calls"
    started = time.monotonic()
    tracer.shutdown(timeout=0.5)
    assert time.monotonic() - started < 1.5
