"""Export without a server: masking, sampling, switching off, JSONL files, bounded queues,
and serialization that never raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
import pytest

import promptrail
from promptrail.tracing import JsonlExporter, MemoryExporter, Tracer
from promptrail.tracing.serialize import to_jsonable


def _observations(exporter: MemoryExporter) -> list[dict[str, Any]]:
    return [e["body"] for e in exporter.events if e["type"] == "observation-create"]


def test_mask_runs_before_anything_leaves_the_process(use_tracer: Callable[..., Tracer]) -> None:
    exporter = MemoryExporter()

    def mask(data: Any) -> Any:
        return json.loads(json.dumps(data).replace("4111-1111", "[card]"))

    tracer = use_tracer(exporter=exporter, mask=mask)

    @promptrail.observe()
    def pay(card: str) -> str:
        promptrail.update_current_trace(metadata={"card": card})
        return f"charged {card}"

    pay("4111-1111")
    tracer.flush(5)
    dumped = json.dumps(exporter.events)
    assert "4111-1111" not in dumped
    assert "charged [card]" in dumped


def test_a_failing_mask_hides_the_value(use_tracer: Callable[..., Tracer]) -> None:
    exporter = MemoryExporter()

    def mask(data: Any) -> Any:
        raise RuntimeError("bug in mask")

    tracer = use_tracer(exporter=exporter, mask=mask)
    with promptrail.start_span("s", input="secret"):
        pass
    tracer.flush(5)
    (body,) = _observations(exporter)
    assert body["input"] == "<masking failed: RuntimeError>"


def test_sample_rate_keeps_whole_traces_deterministically(
    use_tracer: Callable[..., Tracer],
) -> None:
    exporter = MemoryExporter()
    tracer = use_tracer(exporter=exporter, sample_rate=0.3)

    @promptrail.observe()
    def child() -> None:
        pass

    @promptrail.observe()
    def root() -> str:
        child()
        return promptrail.get_current_trace_id() or ""

    ids = [root() for _ in range(400)]
    tracer.flush(5)
    kept = {b["trace_id"] for b in _observations(exporter)}
    assert 60 < len(kept) < 180  # about 30% of 400
    expected = {t for t in ids if int(t, 16) & (2**64 - 1) < int(0.3 * 2**64)}
    assert kept == expected  # decided by the trace id alone: children follow their root
    per_trace = {t: sum(b["trace_id"] == t for b in _observations(exporter)) for t in kept}
    assert set(per_trace.values()) == {2}


def test_disabled_tracing_is_a_no_op(use_tracer: Callable[..., Tracer]) -> None:
    exporter = MemoryExporter()
    use_tracer(exporter=exporter, enabled=False)

    @promptrail.observe()
    def work(x: int) -> int:
        promptrail.update_current_trace(user_id="u")
        promptrail.score("s", 1)
        return x + 1

    with promptrail.start_generation("g", model="m") as gen:
        gen.update(output="o")
        gen.event("e")
    assert work(1) == 2
    assert promptrail.get_current_trace_id() is None
    assert promptrail.flush(1) is True
    assert exporter.events == []


def test_the_environment_can_switch_tracing_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTRAIL_TRACING", "false")
    assert Tracer(exporter=MemoryExporter()).enabled is False
    monkeypatch.setenv("PROMPTRAIL_TRACING", "true")
    assert Tracer(exporter=MemoryExporter()).enabled is True


def test_jsonl_file_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "out" / "traces.jsonl"
    monkeypatch.setenv("PROMPTRAIL_TRACE_FILE", str(path))

    @promptrail.observe()
    def offline(x: int) -> int:
        return x

    offline(5)
    assert promptrail.flush(5)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["type"] for e in events] == ["observation-create", "trace-create"]
    assert events[0]["body"]["input"] == {"x": 5}


def test_jsonl_exporter_object(use_tracer: Callable[..., Tracer], tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tracer = use_tracer(exporter=JsonlExporter(path))
    for i in range(3):
        with promptrail.start_span(f"s{i}"):
            pass
    tracer.flush(5)
    assert len(path.read_text().splitlines()) == 6


class _Exploding:
    def export(self, events: list[dict[str, Any]]) -> int:
        raise ValueError("exporter bug")

    def close(self) -> None:
        raise ValueError("close bug")


def test_a_broken_exporter_never_reaches_the_application(
    make_tracer: Callable[..., Tracer],
) -> None:
    tracer = make_tracer(exporter=_Exploding(), max_retry_delay=0.01)
    with tracer.start_span("s") as span:
        span.update(output=1)
    assert tracer.flush(0.2) is False  # still retrying: flush gives up in time
    assert tracer.shutdown(0.2) is False


class _Slow:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def export(self, events: list[dict[str, Any]]) -> int:
        time.sleep(0.05)
        self.events.extend(events)
        return 0

    def close(self) -> None:
        pass


def test_a_full_queue_drops_and_counts_instead_of_blocking(
    make_tracer: Callable[..., Tracer],
) -> None:
    slow = _Slow()
    tracer = make_tracer(exporter=slow, max_queue=50, batch_size=10)
    started = time.perf_counter()
    for i in range(1000):
        tracer.start_span(f"s{i}").end()
    elapsed = time.perf_counter() - started
    assert elapsed < 2.5  # waiting on the 50 ms exporter would take 4.75 s (95 batches)
    assert tracer.dropped >= 900
    assert tracer.queue_size <= 50
    assert tracer.flush(10)
    sent = [e for e in slow.events if e["type"] == "observation-create"]
    assert len(sent) == 1000 - tracer.dropped


@dataclasses.dataclass
class _Point:
    x: int
    label: str


class _Model(pydantic.BaseModel):
    name: str
    when: dt.datetime


class _Node:
    def __init__(self) -> None:
        self.child: Any = self
        self.value = 1


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __getattribute__(self, name: str) -> Any:
        if name in ("__class__", "__repr__"):
            return object.__getattribute__(self, name)
        raise RuntimeError("no attributes")


def test_serialization_handles_whatever_applications_pass() -> None:
    cycle: list[Any] = [1]
    cycle.append(cycle)
    data = {
        "model": _Model(name="n", when=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        "dataclass": _Point(1, "p"),
        "bytes": b"hello",
        "binary": b"\xff\xfe",
        "date": dt.date(2024, 1, 2),
        "set": {3, 1, 2},
        "decimal": Decimal("1.5"),
        "nan": float("nan"),
        "cycle": cycle,
        "object": _Node(),
        "huge": "x" * 200_000,
        "hostile": _Hostile(),
        "exception": ValueError("bad"),
        "generator": (i for i in range(3)),
        5: "int key",
    }
    out = to_jsonable(data)
    json.dumps(out)  # JSON-ready
    assert out["model"] == {"name": "n", "when": "2024-01-02T03:04:05Z"}
    assert out["dataclass"] == {"x": 1, "label": "p"}
    assert (out["bytes"], out["binary"]) == ("hello", "<2 bytes>")
    assert out["date"] == "2024-01-02"
    assert out["set"] == [1, 2, 3]
    assert out["decimal"] == "1.5"
    assert out["nan"] == "nan"
    assert out["cycle"] == [1, "<cycle: list>"]
    assert out["object"] == {"child": "<cycle: _Node>", "value": 1}
    assert len(out["huge"]) < 100_100
    assert out["huge"].endswith("[truncated 100000 chars]")
    assert out["hostile"] == "<_Hostile>"
    assert out["exception"] == "ValueError: bad"
    assert out["generator"].startswith("<generator")
    assert out["5"] == "int key"


def test_a_traced_function_with_unserializable_arguments_still_exports(
    memory: MemoryExporter,
) -> None:
    @promptrail.observe()
    def odd(thing: Any) -> Any:
        return thing

    hostile = _Hostile()
    assert odd(hostile) is hostile
    promptrail.flush(5)
    (body,) = _observations(memory)
    assert body["input"] == {"thing": "<_Hostile>"}


def test_importing_the_tracer_stays_light() -> None:
    code = (
        "import sys, promptrail\n"
        "@promptrail.observe()\n"
        "def f(): return 1\n"
        "f()\n"
        "heavy = [m for m in ('pydantic', 'httpx', 'sqlalchemy', 'fastapi') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_forked_child_exports_its_own_spans(
    use_tracer: Callable[..., Tracer], tmp_path: Path
) -> None:
    import os

    path = tmp_path / "forked.jsonl"
    tracer = use_tracer(exporter=JsonlExporter(path))
    with promptrail.start_span("in-parent"):
        pass
    assert tracer.flush(5)  # the export thread is running now
    pid = os.fork()
    if pid == 0:  # the child: its own queue and thread, none of the parent's items
        try:
            with promptrail.start_span("in-child"):
                pass
            os._exit(0 if promptrail.flush(5) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    events = [json.loads(line) for line in path.read_text().splitlines()]
    names = [e["body"]["name"] for e in events if e["type"] == "observation-create"]
    assert sorted(names) == ["in-child", "in-parent"]


@pytest.mark.parametrize("kind", ["native", "otlp"])
def test_an_exporter_closed_at_shutdown_opens_no_connection_afterwards(kind: str) -> None:
    # The export thread can still be encoding a batch when shutdown's bound runs out and
    # closes the exporter; the batch must not open a connection that nobody would close.
    import socket

    from promptrail.errors import PermanentError
    from promptrail.tracing.exporter import HttpExporter
    from promptrail.tracing.otlp import OtlpExporter

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    exporter = HttpExporter(url) if kind == "native" else OtlpExporter(f"{url}/v1/traces")
    exporter.close()
    span = {"id": "ab" * 8, "trace_id": "cd" * 16, "name": "answer"}
    span["start_time"] = "2026-01-01T00:00:00Z"
    event = {"id": "e1", "type": "observation-create", "body": span}
    try:
        with pytest.raises(PermanentError, match="closed"):
            exporter.export([event])
        with pytest.raises(TimeoutError):
            listener.accept()[0].close()  # nobody connected
    finally:
        listener.close()
