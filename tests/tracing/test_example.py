"""examples/customer_support.py end to end: registry prompts, fake LLM, trace with cost."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from promptrail.testing.fake_openai import FakeOpenAI
from serverproc import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customer_support.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("customer_support", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["customer_support"] = module
    spec.loader.exec_module(module)
    return module


def test_the_support_workflow_produces_one_costed_trace(
    server: ServerProcess, fake_llm: FakeOpenAI
) -> None:
    example = _load()
    result = example.run(server.url, fake_llm.url, "Please refund the double charge on my card")
    assert result.queue == "billing"
    assert result.cost is not None
    assert result.cost > 0
    trace = httpx.get(f"{server.url}/api/v1/traces/{result.trace_id}").json()
    assert trace["name"] == "support-ticket"
    assert trace["user_id"] == "user-42"
    assert {p["name"] for p in trace["prompts"]} == {"support/triage", "support/reply"}
    names = [(o["depth"], o["name"]) for o in trace["observations"]]
    assert names == [
        (0, "support-ticket"),
        (1, "handle"),
        (2, "classify"),
        (3, "classify-ticket"),
        (2, "lookup-context"),
        (2, "draft_reply"),
        (3, "draft-reply"),
    ]
    reply = next(o for o in trace["observations"] if o["name"] == "draft-reply")
    assert reply["time_to_first_token_ms"] is not None
    assert reply["cost_source"] == "computed"
    assert {s["name"] for s in trace["scores"]} == {"mentions-product", "queue"}
    assert trace["cost"] == pytest.approx(result.cost)
