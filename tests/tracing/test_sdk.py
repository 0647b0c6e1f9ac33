"""The SDK on its own: nesting, context propagation, errors, generators, capture flags."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import pytest

import promptrail
from promptrail.tracing import MemoryExporter
from tracers import bodies, by_name


def test_nested_sync_calls_form_one_trace_with_parent_links(memory: MemoryExporter) -> None:
    @promptrail.observe()
    def leaf(x: int) -> int:
        return x * 2

    @promptrail.observe(name="pipeline")
    def root(a: int, *, b: int = 1) -> int:
        promptrail.update_current_trace(user_id="ada", session_id="s-1", tags=["t1"])
        with promptrail.start_span("inner", input={"k": 1}) as span:
            span.update(output="inner-out", metadata={"m": True})
            promptrail.event("checkpoint", metadata={"step": 1})
        return leaf(a) + b

    assert root(3, b=2) == 8
    found = by_name(memory)
    assert set(found) == {"pipeline", "inner", "checkpoint", "leaf"}
    root_id = found["pipeline"]["id"]
    assert "parent_id" not in found["pipeline"]
    assert found["inner"]["parent_id"] == root_id
    assert found["leaf"]["parent_id"] == root_id
    assert found["checkpoint"]["parent_id"] == found["inner"]["id"]
    assert found["checkpoint"]["type"] == "event"
    assert {b["trace_id"] for b in found.values()} == {found["pipeline"]["trace_id"]}
    assert found["pipeline"]["input"] == {"a": 3, "b": 2}
    assert found["pipeline"]["output"] == 8
    assert found["leaf"]["input"] == {"x": 3}
    assert found["inner"]["output"] == "inner-out"
    assert found["inner"]["metadata"] == {"m": True}
    assert found["pipeline"]["start_time"] <= found["leaf"]["start_time"]
    assert found["leaf"]["end_time"] <= found["pipeline"]["end_time"]
    (trace,) = bodies(memory, "trace-create")
    assert trace["id"] == found["pipeline"]["trace_id"]
    assert (trace["name"], trace["user_id"], trace["session_id"]) == ("pipeline", "ada", "s-1")
    assert trace["tags"] == ["t1"]
    assert trace["input"] == {"a": 3, "b": 2}


def test_ids_are_available_inside_and_absent_outside(memory: MemoryExporter) -> None:
    seen: dict[str, Any] = {}

    @promptrail.observe()
    def work() -> None:
        seen["trace"] = promptrail.get_current_trace_id()
        seen["obs"] = promptrail.get_current_observation_id()

    work()
    assert promptrail.get_current_trace_id() is None
    assert len(seen["trace"]) == 32
    assert by_name(memory)["work"]["id"] == seen["obs"]


def test_async_tasks_and_copied_thread_contexts_keep_their_parent(memory: MemoryExporter) -> None:
    @promptrail.observe()
    async def fetch(i: int) -> int:
        await asyncio.sleep(0.01 * (3 - i))
        return i

    @promptrail.observe()
    def in_thread() -> str:
        return "t"

    @promptrail.observe()
    async def gather() -> list[int]:
        results = await asyncio.gather(*(fetch(i) for i in range(3)))
        ctx = contextvars.copy_context()
        thread = threading.Thread(target=ctx.run, args=(in_thread,))
        thread.start()
        thread.join()
        return list(results)

    assert asyncio.run(gather()) == [0, 1, 2]
    observations = bodies(memory, "observation-create")
    root = next(b for b in observations if b["name"] == "gather")
    children = [b for b in observations if b["name"] in ("fetch", "in_thread")]
    assert len(children) == 4
    assert all(b["parent_id"] == root["id"] for b in children)


def test_a_thread_without_a_copied_context_starts_its_own_trace(memory: MemoryExporter) -> None:
    @promptrail.observe()
    def child() -> None:
        pass

    @promptrail.observe()
    def parent() -> None:
        thread = threading.Thread(target=child)
        thread.start()
        thread.join()

    parent()
    found = by_name(memory)
    assert found["child"]["trace_id"] != found["parent"]["trace_id"]


def test_exceptions_are_recorded_and_reraised_unchanged(memory: MemoryExporter) -> None:
    class Boom(Exception):
        pass

    error = Boom("no luck")

    @promptrail.observe()
    def fails() -> None:
        raise error

    with pytest.raises(Boom) as caught:
        fails()
    assert caught.value is error
    with pytest.raises(KeyError), promptrail.start_span("block"):
        raise KeyError("k")
    found = by_name(memory)
    assert found["fails"]["level"] == "ERROR"
    assert found["fails"]["status_message"] == "Boom: no luck"
    assert found["block"]["level"] == "ERROR"
    assert "end_time" in found["fails"]


def test_generators_end_when_iteration_ends(memory: MemoryExporter) -> None:
    @promptrail.observe()
    def inner() -> int:
        return 1

    @promptrail.observe(as_type="generation")
    def tokens(n: int) -> Any:
        for i in range(n):
            yield f"t{i}"
        inner()

    @promptrail.observe()
    def consumer() -> list[str]:
        out = []
        for token in tokens(3):
            out.append(token)
            promptrail.event("between")  # the consumer's, not the generator's
        return out

    assert consumer() == ["t0", "t1", "t2"]
    found = by_name(memory)
    gen = found["tokens"]
    assert gen["type"] == "generation"
    assert gen["output"] == "t0t1t2"
    assert "completion_start_time" in gen
    assert gen["start_time"] <= gen["completion_start_time"] <= gen["end_time"]
    assert found["inner"]["parent_id"] == gen["id"]
    assert found["between"]["parent_id"] == found["consumer"]["id"]


def test_a_generator_closed_early_still_ends_and_send_works(memory: MemoryExporter) -> None:
    @promptrail.observe()
    def counter() -> Any:
        total = 0
        while True:
            got = yield total
            total += got or 0

    gen = counter()
    next(gen)
    assert gen.send(5) == 5
    assert gen.send(2) == 7
    gen.close()
    found = by_name(memory)
    assert found["counter"]["output"] == [0, 5, 7]
    assert "level" not in found["counter"]


def test_async_generators_are_traced_until_exhausted(memory: MemoryExporter) -> None:
    @promptrail.observe()
    async def stream(n: int) -> Any:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def main() -> list[int]:
        return [i async for i in stream(3)]

    assert asyncio.run(main()) == [0, 1, 2]
    assert by_name(memory)["stream"]["output"] == [0, 1, 2]


def test_capture_flags_and_methods(memory: MemoryExporter) -> None:
    class Service:
        @promptrail.observe(capture_input=False, capture_output=False)
        def secret(self, password: str) -> str:
            return password[::-1]

        @promptrail.observe()
        def public(self, value: int) -> int:
            return value

    service = Service()
    assert service.secret("hunter2") == "2retnuh"
    assert service.public(7) == 7
    found = by_name(memory)
    assert "input" not in found["secret"]
    assert "output" not in found["secret"]
    assert found["public"]["input"] == {"value": 7}  # self is left out


def test_generation_records_model_usage_prompt_and_time(memory: MemoryExporter) -> None:
    class Prompt:  # duck-typed, like promptrail.Client's prompts
        name, version, label, hash = "support/reply", 3, "production", "f" * 64

    with promptrail.start_generation(
        "llm",
        model="gpt-4o-mini",
        model_parameters={"temperature": 0.2},
        input=[{"role": "user", "content": "hi"}],
        prompt=Prompt(),
    ) as gen:
        gen.update(
            output="hello",
            completion_start_time=1_700_000_000.5,
            usage={
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 40},
                "completion_tokens_details": {"reasoning_tokens": 5},
            },
        )
    (body,) = bodies(memory, "observation-create")
    assert body["model"] == "gpt-4o-mini"
    assert body["model_parameters"] == {"temperature": 0.2}
    assert body["usage"] == {"input": 100, "output": 20, "total": 120, "cached": 40, "reasoning": 5}
    assert body["prompt"] == {
        "name": "support/reply",
        "version": 3,
        "label": "production",
        "hash": "f" * 64,
    }
    assert body["completion_start_time"] == "2023-11-14T22:13:20.500000Z"


def test_scores_target_the_current_trace_or_given_ids(memory: MemoryExporter) -> None:
    @promptrail.observe()
    def run() -> str:
        promptrail.score("helpful", True, comment="thumbs up")
        with promptrail.start_span("step") as span:
            span.score("accuracy", 0.5)
        return promptrail.get_current_trace_id() or ""

    trace_id = run()
    promptrail.score("later", "good", trace_id=trace_id)
    scores = {s["name"]: s for s in bodies(memory, "score-create")}
    assert scores["helpful"]["trace_id"] == trace_id
    assert scores["helpful"]["value"] is True
    assert scores["helpful"]["comment"] == "thumbs up"
    assert scores["accuracy"]["observation_id"] == by_name(memory)["step"]["id"]
    assert scores["later"] == {**scores["later"], "trace_id": trace_id, "value": "good"}
    assert all(s["source"] == "sdk" for s in scores.values())


def test_an_update_after_the_end_is_sent_again(memory: MemoryExporter) -> None:
    span = promptrail.start_span("late")
    span.end()
    promptrail.flush(5)
    span.update(output="arrived later")
    sent = [b for b in bodies(memory, "observation-create") if b["name"] == "late"]
    assert sent[-1]["output"] == "arrived later"
    assert {b["id"] for b in sent} == {span.observation_id}
