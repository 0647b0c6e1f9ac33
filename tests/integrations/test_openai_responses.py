"""The OpenAI Responses API, with the real `openai` package against the local fake server."""

from __future__ import annotations

import asyncio

import openai

import promptrail
from promptrail.integrations.openai import trace_openai
from promptrail.testing.fake_openai import FakeOpenAI
from promptrail.tracing import MemoryExporter

from .conftest import PROMPT_REF, Prompt, by_name, generations


def test_responses_create_is_a_generation_with_usage_and_the_prompt_link(
    memory: MemoryExporter, fake_openai: FakeOpenAI
) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_openai.url))

    @promptrail.observe()
    def handle() -> str:
        response = client.responses.create(
            model="gpt-4o-mini",
            instructions="Answer support tickets.",
            input="My invoice is wrong, please refund",
            temperature=0.2,
            max_output_tokens=80,
            promptrail_prompt=Prompt(),
        )
        return response.output_text

    reply = handle()
    assert "invoice" in reply
    assert "promptrail_prompt" not in fake_openai.requests[-1]
    (gen,) = generations(memory)
    assert gen["name"] == "support/reply"  # named after its prompt
    assert gen["model"] == "gpt-4o-mini-2024-07-18"  # as the API reports it
    assert gen["model_parameters"] == {"temperature": 0.2, "max_output_tokens": 80}
    assert gen["input"] == {
        "instructions": "Answer support tickets.",
        "input": "My invoice is wrong, please refund",
    }
    assert gen["output"] == reply
    assert gen["usage"]["input"] > 0
    assert gen["usage"]["output"] > 0
    assert gen["usage"]["total"] == gen["usage"]["input"] + gen["usage"]["output"]
    assert gen["prompt"] == PROMPT_REF
    spans = by_name(memory)
    assert gen["parent_id"] == spans["handle"]["id"]


def test_a_streamed_response_is_recorded_as_it_is_read(
    memory: MemoryExporter, fake_openai: FakeOpenAI
) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_openai.url))
    stream = client.responses.create(
        model="gpt-4o",
        input=[{"role": "user", "content": "The app crashes on login"}],
        stream=True,
        promptrail_prompt=Prompt(),
    )
    text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
    assert "crashes" in text
    (gen,) = generations(memory)
    assert gen["output"] == text
    assert gen["model"] == "gpt-4o-2024-08-06"
    assert gen["usage"]["output"] > 0
    assert gen["completion_start_time"] >= gen["start_time"]
    assert gen["end_time"] >= gen["completion_start_time"]
    assert gen["prompt"] == PROMPT_REF


def test_async_responses_streamed_and_not(memory: MemoryExporter, fake_openai: FakeOpenAI) -> None:
    client = trace_openai(openai.AsyncOpenAI(api_key="k", base_url=fake_openai.url))

    async def run() -> tuple[str, str]:
        whole = await client.responses.create(model="gpt-4o-mini", input="reset my password")
        stream = await client.responses.create(model="gpt-4o-mini", input="billing", stream=True)
        pieces = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        return whole.output_text, "".join(pieces)

    whole, streamed = asyncio.run(run())
    first, second = generations(memory)
    assert first["output"] == whole
    assert second["output"] == streamed
    assert second["usage"]["input"] > 0


def test_a_failed_call_is_an_error_generation(
    memory: MemoryExporter, fake_openai: FakeOpenAI
) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_openai.url, max_retries=0))
    try:
        client.responses.create(model="fail", input="x")
    except openai.BadRequestError:
        pass
    else:
        raise AssertionError("the fake refuses model `fail`")
    (gen,) = generations(memory)
    assert gen["level"] == "ERROR"
    assert "BadRequestError" in gen["status_message"]
