"""Langfuse code, written as a Langfuse user would, run in its own process by the tests.

    python sdk_scenarios.py SCENARIO [ARG...]    # prints one JSON object

The SDK keeps process-wide state (a client per public key, an OpenTelemetry provider),
so each scenario runs in a fresh interpreter: `LANGFUSE_HOST`, `LANGFUSE_PUBLIC_KEY` and
`LANGFUSE_SECRET_KEY` point it at a promptrail server, and nothing else changes. With
PYTHONPATH naming another `langfuse` checkout, the same code runs on another SDK line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import langfuse
from langfuse import Langfuse, get_client, observe, propagate_attributes

SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {}


def scenario(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    SCENARIOS[fn.__name__] = fn
    return fn


def _error(fn: Callable[[], Any]) -> str | None:
    try:
        fn()
    except Exception as exc:
        return type(exc).__name__
    return None


@scenario
def auth() -> dict[str, Any]:
    return {"ok": Langfuse().auth_check(), "sdk": langfuse.__version__}


@scenario
def prompts() -> dict[str, Any]:
    client = Langfuse()
    production = client.get_prompt("summarize")
    staging = client.get_prompt("summarize", label="staging")
    first = client.get_prompt("summarize", version=1)
    folder = client.get_prompt("support/triage", type="chat")
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    compiled = folder.compile(product="Acme", ticket="It broke", history=history)
    fallback = client.get_prompt("summarize", label="nope", fallback="Fallback {{text}}")
    return {
        "production": [production.version, production.prompt, production.labels],
        "staging": [staging.version, staging.config],
        "first": [first.version, first.prompt, first.commit_message],
        "compiled_text": production.compile(text="Tea is a drink."),
        "chat": [folder.version, folder.name, folder.config],
        "chat_compiled": compiled,
        "variables": sorted(folder.variables),
        "missing_error": _error(lambda: client.get_prompt("summarize", label="nope")),
        "missing_prompt_error": _error(lambda: client.get_prompt("nothing/here")),
        "fallback": [fallback.is_fallback, fallback.compile(text="x")],
        "cached_again": client.get_prompt("summarize").version,
    }


@scenario
def write_prompt(labels: str) -> dict[str, Any]:
    client = Langfuse()
    try:
        made = client.create_prompt(
            name="summarize",
            prompt="Summarize briefly: {{text}}",
            labels=[label for label in labels.split(",") if label],
            config={"model": "gpt-4o-mini"},
            commit_message="from the Langfuse SDK",
        )
    except Exception as exc:
        return {"error": type(exc).__name__, "body": getattr(exc, "body", str(exc))}
    return {"version": made.version, "labels": made.labels}


@scenario
def observe_generation(fake_url: str) -> dict[str, Any]:
    client = get_client()
    prompt = client.get_prompt("summarize")

    @observe(as_type="generation", name="summarize-call")
    def call(text: str) -> str:
        client.update_current_generation(
            model="gpt-4o-mini",
            prompt=prompt,
            input=prompt.compile(text=text),
            usage_details={"input": 12, "output": 5},
        )
        return "Tea: a drink."

    @observe(name="handle-request")
    def handle(text: str) -> tuple[str, str | None]:
        with propagate_attributes(user_id="ada", session_id="sess-1", tags=["langfuse"]):
            return call(text), client.get_current_trace_id()

    output, trace_id = handle("Tea is a drink.")
    client.flush()
    return {"output": output, "trace_id": trace_id}


@scenario
def openai_wrapper(fake_url: str) -> dict[str, Any]:
    from langfuse.openai import OpenAI

    client = get_client()
    prompt = client.get_prompt("support/triage", type="chat")
    messages = prompt.compile(product="Acme", ticket="It broke", history=[])
    with client.start_as_current_observation(name="triage-request") as span:
        trace_id = span.trace_id
        openai = OpenAI(base_url=fake_url, api_key="test")
        reply = openai.chat.completions.create(
            model="gpt-4o-mini", messages=messages, langfuse_prompt=prompt
        )
    client.flush()
    return {"trace_id": trace_id, "reply": reply.choices[0].message.content}


@scenario
def scores(trace_id: str, observation_id: str) -> dict[str, Any]:
    client = Langfuse()
    client.create_score(name="accuracy", value=0.75, trace_id=trace_id, comment="close")
    client.create_score(
        name="helpful",
        value=1,
        data_type="BOOLEAN",
        trace_id=trace_id,
        observation_id=observation_id,
    )
    client.create_score(name="tone", value="friendly", data_type="CATEGORICAL", session_id="sess-1")
    client.flush()
    listed = client.api.scores.get_many(trace_id=trace_id)
    return {"listed": sorted((s.name, s.value) for s in listed.data)}


@scenario
def experiment(fake_url: str) -> dict[str, Any]:
    from langfuse.openai import OpenAI

    client = Langfuse()
    client.create_dataset(name="capitals", description="Capital cities.")
    for country, city in (("France", "Paris"), ("Japan", "Tokyo")):
        client.create_dataset_item(
            dataset_name="capitals", input={"country": country}, expected_output=city
        )
    dataset = client.get_dataset("capitals")
    openai = OpenAI(base_url=fake_url, api_key="test")

    def task(*, item: Any, **_: Any) -> str:
        reply = openai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"Capital of {item.input['country']}?"}],
        )
        return reply.choices[0].message.content or ""

    def exact(*, output: str, expected_output: str, **_: Any) -> dict[str, Any]:
        return {"name": "exact", "value": float(output.strip() == expected_output)}

    result = dataset.run_experiment(name="capitals-check", task=task, evaluators=[exact])
    client.flush()
    return {
        "items": len(dataset.items),
        "results": len(result.item_results),
        "run": getattr(result, "experiment_id", None) or getattr(result, "dataset_run_id", None),
    }


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print(json.dumps(SCENARIOS[name](*args), default=str))
