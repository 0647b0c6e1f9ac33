"""Tracer fixtures shared by tests/tracing and tests/integrations: the process-wide tracer
reset per test, in-memory and fast-exporting tracers, the fake LLM. Each conftest imports
the fixtures it uses from here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import promptrail.tracing.tracer as tracer_module
from promptrail.testing.fake_openai import FakeOpenAI
from promptrail.tracing import MemoryExporter, Tracer


@pytest.fixture(autouse=True)
def _no_global_tracer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without a process-wide tracer and leaves none behind."""
    for key in ("PROMPTRAIL_TRACING", "PROMPTRAIL_TRACE_FILE", "PROMPTRAIL_SAMPLE_RATE"):
        monkeypatch.delenv(key, raising=False)
    previous = tracer_module.active
    tracer_module.active = None
    yield
    current = tracer_module.active
    if current is not None:
        current.shutdown(timeout=2)
    tracer_module.active = previous


@pytest.fixture
def memory() -> Iterator[MemoryExporter]:
    """The process-wide tracer, exporting into a list (`memory.events`)."""
    exporter = MemoryExporter()
    tracer_module.configure(exporter=exporter, flush_interval=0.02)
    return exporter


def bodies(exporter: MemoryExporter, kind: str) -> list[dict[str, Any]]:
    """The bodies of the exported events of one type, after a flush."""
    tracer_module.get_tracer().flush(5)
    return [e["body"] for e in exporter.events if e["type"] == kind]


def by_name(exporter: MemoryExporter) -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in bodies(exporter, "observation-create")}


@pytest.fixture
def make_tracer() -> Iterator[Callable[..., Tracer]]:
    """Tracers that export fast (short intervals and backoff); shut down after the test."""
    made: list[Tracer] = []

    def make(url: str | None = None, **kwargs: Any) -> Tracer:
        options: dict[str, Any] = {"flush_interval": 0.05, "max_retry_delay": 0.2, **kwargs}
        tracer = Tracer(url, **options)
        made.append(tracer)
        return tracer

    yield make
    for tracer in made:
        tracer.shutdown(timeout=1)


@pytest.fixture
def use_tracer(make_tracer: Callable[..., Tracer]) -> Callable[..., Tracer]:
    """Make a tracer and install it as the process-wide one."""

    def use(url: str | None = None, **kwargs: Any) -> Tracer:
        tracer = make_tracer(url, **kwargs)
        tracer_module.active = tracer
        return tracer

    return use


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(chunk_delay=0.005) as fake:
        yield fake
