"""The runtime client: prompts for applications, cached, with fallbacks that never run out.

    from promptrail import Client
    client = Client()  # PROMPTRAIL_URL, PROMPTRAIL_API_KEY, PROMPTRAIL_SNAPSHOT, ...
    prompt = client.get_prompt("support/triage")
    messages = prompt.compile(product="Acme", ticket=text, history=[])

See docs/client.md for the failure chain, timeouts, A/B splits and snapshots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptrail.client._core import DEFAULT_CACHE_TTL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from promptrail.client._sync import Client
from promptrail.client.prompts import ChatPrompt, TextPrompt

if TYPE_CHECKING:
    from promptrail.client._async import AsyncClient

__all__ = [
    "DEFAULT_CACHE_TTL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "ChatPrompt",
    "Client",
    "TextPrompt",
]


def __getattr__(name: str) -> Any:
    # asyncio costs ~30 ms to import: only programs that use AsyncClient pay for it.
    if name == "AsyncClient":
        from promptrail.client._async import AsyncClient

        return AsyncClient
    raise AttributeError(f"module 'promptrail.client' has no attribute {name!r}")
