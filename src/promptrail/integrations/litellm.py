"""Trace LiteLLM's `completion` and `acompletion` as generations, whatever the provider.

    from promptrail.integrations.litellm import trace_litellm
    trace_litellm()                      # patches litellm.completion / litellm.acompletion
    litellm.completion(model="anthropic/claude-sonnet-4", messages=...,
                       promptrail_prompt=prompt)

LiteLLM answers in OpenAI's shape for every provider, so the generation records what the
OpenAI integration does: the model LiteLLM reports, parameters, messages, the reply,
usage and, for `stream=True`, the time to the first token (pass
`stream_options={"include_usage": True}` for usage on a stream). `litellm` is imported by
`trace_litellm()` only, never by `import promptrail`. Code that did
`from litellm import completion` before `trace_litellm()` holds the untraced function: call
`litellm.completion`, or use this module's `completion` / `acompletion`.
"""

from __future__ import annotations

from typing import Any

from promptrail.integrations._calls import async_call, sync_call
from promptrail.integrations.openai import ChatCalls
from promptrail.tracing.tracer import Tracer

_NOT_PARAMETERS = {
    "messages",
    "model",
    "stream",
    "stream_options",
    "api_key",
    "api_base",
    "base_url",
    "api_version",
    "custom_llm_provider",
    "metadata",
    "timeout",
    "extra_headers",
    "tools",
    "functions",
}
_MARK = "_promptrail_traced"


class _Completion(ChatCalls):
    """LiteLLM answers in OpenAI's chat shape; its streams are iterators of chunks."""

    name = "litellm.completion"
    skip = _NOT_PARAMETERS

    @staticmethod
    def whole(response: Any) -> bool:
        return not (hasattr(response, "__next__") or hasattr(response, "__anext__"))


def trace_litellm(*, tracer: Tracer | None = None) -> Any:
    """Patch `litellm.completion` and `litellm.acompletion` in place; returns the module."""
    import litellm

    if getattr(litellm, _MARK, False):
        return litellm
    kind = _Completion(tracer)
    litellm.completion = sync_call(
        litellm.completion, kind.start, kind.finish, kind.collector, kind.whole
    )
    litellm.acompletion = async_call(
        litellm.acompletion, kind.start, kind.finish, kind.collector, kind.whole
    )
    setattr(litellm, _MARK, True)
    return litellm


def completion(*args: Any, **kwargs: Any) -> Any:
    """`litellm.completion`, traced (patching LiteLLM on first use)."""
    return trace_litellm().completion(*args, **kwargs)


async def acompletion(*args: Any, **kwargs: Any) -> Any:
    """`litellm.acompletion`, traced (patching LiteLLM on first use)."""
    return await trace_litellm().acompletion(*args, **kwargs)
