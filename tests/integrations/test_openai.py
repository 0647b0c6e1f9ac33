"""The OpenAI integration, with the real `openai` package against the local fake server."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import openai
import pydantic
import pytest

import promptrail
from promptrail.integrations.openai import trace_openai
from promptrail.testing.fake_openai import FakeOpenAI
from promptrail.tracing import MemoryExporter
from tracers import bodies


class Prompt:
    name, version, label, hash = "support/triage", 2, "production", "b" * 64


class Ticket(pydantic.BaseModel):
    queue: Literal["billing", "bug", "account", "other"]
    summary: str


def _generations(memory: MemoryExporter) -> list[dict[str, Any]]:
    return [b for b in bodies(memory, "observation-create") if b["type"] == "generation"]


def test_create_records_a_generation_linked_to_the_prompt(
    memory: MemoryExporter, fake_llm: FakeOpenAI
) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_llm.url))
    messages = [{"role": "user", "content": "Please refund my last invoice"}]

    @promptrail.observe()
    def handle() -> str:
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            temperature=0.1,
            max_tokens=50,
            promptrail_prompt=Prompt(),
        )
        return response.choices[0].message.content or ""

    reply = handle()
    assert "refund" in reply
    assert "promptrail_prompt" not in fake_llm.requests[-1]
    (gen,) = _generations(memory)
    assert gen["name"] == "support/triage"  # named after its prompt
    assert gen["model"] == "gpt-4o-mini-2024-07-18"
    assert gen["model_parameters"] == {"temperature": 0.1, "max_tokens": 50}
    assert gen["input"] == messages
    assert gen["output"]["content"] == reply
    assert gen["usage"]["input"] > 0
    assert gen["usage"]["total"] == (gen["usage"]["input"] + gen["usage"]["output"])
    assert gen["prompt"] == {
        "name": "support/triage",
        "version": 2,
        "label": "production",
        "hash": "b" * 64,
    }
    assert gen["parent_id"] == next(
        b["id"] for b in bodies(memory, "observation-create") if b["name"] == "handle"
    )


def test_streams_record_output_usage_and_time_to_first_token(
    memory: MemoryExporter, fake_llm: FakeOpenAI
) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_llm.url))
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "stream a reply"}],
        stream=True,
        stream_options={"include_usage": True},
        promptrail_name="streamed",
    )
    with stream:
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    (gen,) = _generations(memory)
    assert gen["name"] == "streamed"
    assert gen["output"]["content"] == text
    assert gen["usage"]["output"] > 0
    assert gen["start_time"] < gen["completion_start_time"] <= gen["end_time"]


def test_stream_usage_option_asks_openai_for_usage(
    memory: MemoryExporter, fake_llm: FakeOpenAI
) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_llm.url), stream_usage=True)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    for _ in stream:
        pass
    assert fake_llm.requests[-1]["stream_options"] == {"include_usage": True}
    assert _generations(memory)[0]["usage"]["total"] > 0


def test_structured_output_with_parse(memory: MemoryExporter, fake_llm: FakeOpenAI) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_llm.url))
    completion = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "I cannot log in to my account"}],
        response_format=Ticket,
    )
    assert completion.choices[0].message.parsed == Ticket(
        queue="account", summary="I cannot log in to my account"
    )
    assert fake_llm.requests[-1]["response_format"]["type"] == "json_schema"
    (gen,) = _generations(memory)
    assert gen["name"] == "openai.chat"  # no prompt given: the call's own name
    assert gen["output"]["parsed"] == {
        "queue": "account",
        "summary": "I cannot log in to my account",
    }
    assert gen["model_parameters"]["response_format"]["schema"] == "Ticket"


def test_async_client_plain_and_streaming(memory: MemoryExporter, fake_llm: FakeOpenAI) -> None:
    client = trace_openai(openai.AsyncOpenAI(api_key="k", base_url=fake_llm.url))

    async def main() -> tuple[str, str]:
        plain = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "one"}]
        )
        stream = await client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "two"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return plain.choices[0].message.content or "", "".join(parts)

    plain, streamed = asyncio.run(main())
    first, second = _generations(memory)
    assert first["output"]["content"] == plain
    assert "completion_start_time" not in first
    assert second["output"]["content"] == streamed
    assert "completion_start_time" in second
    assert second["usage"]["total"] > 0


def test_an_api_error_is_recorded_and_raised(memory: MemoryExporter, fake_llm: FakeOpenAI) -> None:
    client = trace_openai(openai.OpenAI(api_key="k", base_url=fake_llm.url, max_retries=0))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fail", messages=[{"role": "user", "content": "x"}])
    (gen,) = _generations(memory)
    assert gen["level"] == "ERROR"
    assert "BadRequestError" in gen["status_message"]


def test_the_fake_speaks_json_object_mode(fake_llm: FakeOpenAI) -> None:
    client = openai.OpenAI(api_key="k", base_url=fake_llm.url)
    response = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "the app crashes with an error"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(response.choices[0].message.content or "") == {"queue": "bug"}
