"""Fixtures for the integrations: the tracer fixtures of tracers.py, and the local fakes of
each provider's HTTP API."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from promptrail.testing.fake_anthropic import FakeAnthropic
from promptrail.testing.fake_openai import FakeOpenAI
from promptrail.tracing import MemoryExporter
from tracers import _no_global_tracer, bodies, fake_llm, memory

__all__ = ["_no_global_tracer", "fake_llm", "memory"]

# LiteLLM reads its model price map from the network unless told to use its own copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(autouse=True)
def _provider_clients_collected() -> Iterator[None]:
    """The tests make provider clients (openai.OpenAI, anthropic.Anthropic...) and drop
    them unclosed, as short scripts do; their pooled connections to the local fakes are
    collected here, at the end of the test that made them, and not as an unclosed-socket
    warning in whichever later test happens to run the garbage collector."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


class Prompt:
    """What `promptrail.Client().get_prompt` returns, as far as the tracer cares."""

    name, version, label, hash = "support/reply", 3, "production", "d" * 64


PROMPT_REF = {"name": "support/reply", "version": 3, "label": "production", "hash": "d" * 64}


def generations(exporter: MemoryExporter) -> list[dict[str, Any]]:
    return [b for b in bodies(exporter, "observation-create") if b["type"] == "generation"]


def by_name(exporter: MemoryExporter) -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in bodies(exporter, "observation-create")}


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(chunk_delay=0.005) as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(chunk_delay=0.005) as fake:
        yield fake
