"""LiteLLM's completion, with the real `litellm` package against the local fakes of
OpenAI's and Anthropic's HTTP APIs."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from collections.abc import Iterator

import pytest

import promptrail
from promptrail.testing.fake_anthropic import FakeAnthropic
from promptrail.testing.fake_openai import FakeOpenAI
from promptrail.tracing import MemoryExporter

from .conftest import PROMPT_REF, Prompt, generations

MESSAGES = [{"role": "user", "content": "How do I reset my password?"}]
# LiteLLM's own types make pydantic warn; that is LiteLLM's business, not a failure here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier"),
]


@pytest.fixture(autouse=True)
def _close_litellm_clients() -> Iterator[None]:
    """LiteLLM caches its provider clients for the process, and its logging makes an event
    loop for the calling thread; it closes neither. Both are closed here after each test, or
    their sockets are reported unclosed in whatever later test the garbage collector runs in."""
    yield
    import litellm

    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()  # LiteLLM's, if it made one
    except RuntimeError:  # asyncio.run ended in this thread: it leaves no loop set
        loop = asyncio.new_event_loop()
    cache = litellm.in_memory_llm_clients_cache
    for client in list(cache.cache_dict.values()):
        close = getattr(client, "close", None)
        if close is None:
            continue
        if inspect.iscoroutinefunction(close):
            loop.run_until_complete(close())
        else:
            close()
    cache.flush_cache()
    loop.close()
    asyncio.set_event_loop_policy(None)  # a fresh policy: the next caller gets a new loop


def test_completion_through_openai_is_a_generation_with_usage_and_the_prompt_link(
    memory: MemoryExporter, fake_openai: FakeOpenAI
) -> None:
    from promptrail.integrations.litellm import trace_litellm

    litellm = trace_litellm()

    @promptrail.observe()
    def handle() -> str:
        response = litellm.completion(
            model="openai/gpt-4o-mini",
            messages=MESSAGES,
            api_base=fake_openai.url,
            api_key="k",
            temperature=0.3,
            promptrail_prompt=Prompt(),
        )
        return str(response.choices[0].message.content)

    reply = handle()
    assert "password" in reply
    assert "promptrail_prompt" not in fake_openai.requests[-1]
    (gen,) = generations(memory)
    assert gen["name"] == "support/reply"  # named after its prompt
    assert gen["model"] == "gpt-4o-mini-2024-07-18"
    assert gen["model_parameters"] == {"temperature": 0.3}
    assert gen["input"] == MESSAGES
    assert gen["output"]["content"] == reply
    assert gen["usage"]["input"] > 0
    assert gen["usage"]["output"] > 0
    assert gen["prompt"] == PROMPT_REF


def test_a_stream_and_acompletion_through_anthropic(
    memory: MemoryExporter, fake_anthropic: FakeAnthropic
) -> None:
    from promptrail.integrations.litellm import acompletion, completion

    chunks = completion(
        model="anthropic/claude-haiku-4-5",
        messages=MESSAGES,
        api_base=fake_anthropic.base_url,
        api_key="k",
        max_tokens=60,
        stream=True,
        stream_options={"include_usage": True},
        promptrail_prompt=Prompt(),
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    async def run() -> str:
        from litellm.llms.custom_httpx.async_client_cleanup import close_litellm_async_clients

        response = await acompletion(
            model="anthropic/claude-haiku-4-5",
            messages=MESSAGES,
            api_base=fake_anthropic.base_url,
            api_key="k",
            max_tokens=60,
        )
        await close_litellm_async_clients()  # its sessions belong to this loop
        return str(response.choices[0].message.content)

    whole = asyncio.run(run())
    assert text == whole
    streamed, awaited = generations(memory)
    assert streamed["output"]["content"] == text
    assert streamed["usage"]["output"] > 0
    assert streamed["completion_start_time"] >= streamed["start_time"]
    assert streamed["prompt"] == PROMPT_REF
    assert awaited["output"]["content"] == whole
    assert awaited["usage"]["input"] > 0


def test_importing_promptrail_does_not_import_litellm() -> None:
    code = (
        "import sys, promptrail, promptrail.tracing, promptrail.integrations.litellm; "
        "print('litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
