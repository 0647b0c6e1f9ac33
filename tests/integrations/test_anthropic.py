"""Anthropic's Messages API, with the real `anthropic` package against the local fake."""

from __future__ import annotations

import asyncio

import anthropic

import promptrail
from promptrail.integrations.anthropic import trace_anthropic
from promptrail.testing.fake_anthropic import FakeAnthropic
from promptrail.tracing import MemoryExporter

from .conftest import PROMPT_REF, Prompt, generations

MESSAGES = [{"role": "user", "content": "I was charged twice, please refund one"}]


def _client(fake: FakeAnthropic) -> anthropic.Anthropic:
    return trace_anthropic(anthropic.Anthropic(api_key="k", base_url=fake.base_url, max_retries=0))


def test_messages_create_is_a_generation_with_usage_and_the_prompt_link(
    memory: MemoryExporter, fake_anthropic: FakeAnthropic
) -> None:
    client = _client(fake_anthropic)

    @promptrail.observe()
    def handle() -> str:
        message = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=200,
            system="You answer billing questions.",
            messages=MESSAGES,
            stop_sequences=["###"],
            promptrail_prompt=Prompt(),
        )
        return message.content[0].text

    reply = handle()
    assert "charged" in reply
    assert "promptrail_prompt" not in fake_anthropic.requests[-1]
    (gen,) = generations(memory)
    assert gen["name"] == "support/reply"  # named after its prompt
    assert gen["model"] == "claude-sonnet-4-5"
    assert gen["model_parameters"] == {"max_tokens": 200, "stop_sequences": ["###"]}
    assert gen["input"] == {"system": "You answer billing questions.", "messages": MESSAGES}
    assert gen["output"] == {"role": "assistant", "content": reply}
    assert gen["usage"]["input"] > 0
    assert gen["usage"]["output"] > 0
    assert gen["prompt"] == PROMPT_REF


def test_a_stream_with_create_and_the_stream_helper(
    memory: MemoryExporter, fake_anthropic: FakeAnthropic
) -> None:
    client = _client(fake_anthropic)
    events = client.messages.create(
        model="claude-haiku-4-5", max_tokens=100, messages=MESSAGES, stream=True
    )
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=100, messages=MESSAGES, promptrail_prompt=Prompt()
    ) as stream:
        helper_text = "".join(stream.text_stream)
    assert text == helper_text
    first, second = generations(memory)
    for gen in (first, second):
        assert gen["output"] == {"role": "assistant", "content": text}
        assert gen["usage"]["input"] > 0
        assert gen["usage"]["output"] > 1  # from message_delta, not message_start's 1
        assert gen["model"] == "claude-haiku-4-5"
    assert first["completion_start_time"] >= first["start_time"]
    assert second["prompt"] == PROMPT_REF


def test_async_client(memory: MemoryExporter, fake_anthropic: FakeAnthropic) -> None:
    client = trace_anthropic(
        anthropic.AsyncAnthropic(api_key="k", base_url=fake_anthropic.base_url)
    )

    async def run() -> str:
        message = await client.messages.create(
            model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES
        )
        async with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES
        ) as stream:
            await stream.get_final_message()
        return message.content[0].text

    reply = asyncio.run(run())
    whole, streamed = generations(memory)
    assert whole["output"]["content"] == reply
    assert streamed["output"]["content"] == reply
    assert streamed["usage"]["output"] > 1


def test_an_error_is_recorded(memory: MemoryExporter, fake_anthropic: FakeAnthropic) -> None:
    client = _client(fake_anthropic)
    try:
        client.messages.create(model="fail", max_tokens=10, messages=MESSAGES)
    except anthropic.BadRequestError:
        pass
    else:
        raise AssertionError("the fake refuses model `fail`")
    (gen,) = generations(memory)
    assert gen["level"] == "ERROR"
