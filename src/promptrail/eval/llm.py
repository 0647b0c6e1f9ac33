"""Calls to an OpenAI-compatible endpoint through the official `openai` package, cached.

Retries are the package's own: 408, 409, 429 and 5xx answers and dropped connections are
retried with exponential backoff, waiting what `Retry-After` (or `retry-after-ms`) says
when the server sends it (up to two minutes). `timeout` bounds each attempt.
Model parameters go in the request body as they are (`extra_body`), so any parameter a
server understands passes through, including ones the package does not know.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from promptrail.api.eval import Tokens
from promptrail.errors import UsageError
from promptrail.eval.cache import ResponseCache, cache_key

DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 4
DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass
class Completion:
    text: str
    usage: dict[str, Any] = field(default_factory=dict)  # the endpoint's own usage object
    model: str | None = None  # the model that answered (may carry a date suffix)
    latency_ms: float = 0.0  # of the original call, also when answered from the cache
    cached: bool = False

    @property
    def tokens(self) -> Tokens | None:
        if not self.usage:
            return None
        return Tokens(
            input=self.usage.get("prompt_tokens"),
            output=self.usage.get("completion_tokens"),
            total=self.usage.get("total_tokens"),
        )


class Endpoint:
    """One endpoint, one client (one connection pool), one cache, counters for the run."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_RETRIES,
        cache: ResponseCache | None = None,
        concurrency: int = 8,
    ):
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url == DEFAULT_BASE_URL:
                raise UsageError(
                    "no OpenAI API key: set OPENAI_API_KEY (or --api-key), or point "
                    "OPENAI_BASE_URL / --base-url at another OpenAI-compatible endpoint"
                )
            key = "unused"  # local servers (vLLM, Ollama, a proxy) often need none
        self.api_key = key
        self.timeout = timeout
        self.max_retries = max_retries
        self.cache = cache
        self.concurrency = concurrency
        self.calls = 0  # requests that reached for the network (retries not counted)
        self.cache_hits = 0
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import httpx
                import openai
            except ImportError:
                raise UsageError(
                    "evaluating a prompt needs the `openai` package: pip install 'promptrail[eval]'"
                ) from None
            limits = httpx.Limits(
                max_connections=self.concurrency + 4, max_keepalive_connections=self.concurrency + 4
            )
            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self.api_key,
                timeout=self.timeout,
                max_retries=self.max_retries,
                http_client=openai.DefaultAsyncHttpxClient(limits=limits),
            )
        return self._client

    async def complete(
        self,
        messages: list[dict[str, Any]],
        model: str,
        params: dict[str, Any],
        sample: int = 0,
        *,
        use_cache: bool = True,
    ) -> Completion:
        key = cache_key(self.base_url, model, messages, params, sample)
        if use_cache and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                return Completion(
                    hit["text"], hit.get("usage") or {}, hit.get("model"), hit["latency_ms"], True
                )
        self.calls += 1
        started = time.perf_counter()
        response = await self.client.chat.completions.create(
            model=model, messages=messages, extra_body=params or None
        )
        latency_ms = (time.perf_counter() - started) * 1000
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content if choice is not None else None) or ""
        usage = response.usage.model_dump(exclude_none=True) if response.usage else {}
        completion = Completion(text, usage, response.model, latency_ms)
        if self.cache is not None:
            answer = {
                "text": text,
                "usage": usage,
                "model": response.model,
                "latency_ms": latency_ms,
            }
            self.cache.put(key, answer)
        return completion

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def describe_error(exc: BaseException) -> str:
    """One line for an item's `error`: the status and the endpoint's own message."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if status is not None:
        return f"HTTP {status}: {message or exc}"
    return f"{type(exc).__name__}: {exc}"


def is_unreachable(exc: BaseException) -> bool:
    """A connection that never got an answer (not an error the endpoint sent)."""
    try:
        import openai
    except ImportError:
        return False
    return isinstance(exc, openai.APIConnectionError)
