"""Calls to an OpenAI-compatible endpoint through the official `openai` package, cached.

Retries are the package's own: 408, 409, 429 and 5xx answers and dropped connections are
retried with exponential backoff, waiting what `Retry-After` (or `retry-after-ms`) says
when the server sends it (up to two minutes). `timeout` bounds each attempt.
Model parameters go in the request body as they are (`extra_body`), so any parameter a
server understands passes through, including ones the package does not know.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from promptrail.api.eval import Tokens
from promptrail.errors import MalformedAnswer, UsageError
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


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verified TLS context (httpx's own defaults) for every endpoint of the process:
    each client would otherwise load the CA bundle anew, tens of ms, and `eval --base`
    opens an endpoint per prompt and side (bench/eval_pr.py)."""
    import httpx

    return httpx.create_ssl_context()


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
                import openai
            except ImportError:
                raise UsageError(
                    "evaluating a prompt needs the `openai` package: pip install 'promptrail[eval]'"
                ) from None
            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self.api_key,
                timeout=self.timeout,
                max_retries=self.max_retries,
                http_client=openai.DefaultAsyncHttpxClient(verify=tls_context()),
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
        client = self.client  # imports openai on first use: not part of any call's latency
        started = time.perf_counter()
        # The client's generic `post` (its documented way to any endpoint) with the body as
        # JSON: the same auth, retries and Retry-After handling as `chat.completions.create`,
        # without its per-call typing of params and response (two thirds of the CPU a call
        # costs, see bench/eval.py), and with any parameter a server accepts passed as is.
        response: Any = await client.post(
            "/chat/completions",
            body={**params, "model": model, "messages": messages},
            cast_to=object,
        )
        latency_ms = (time.perf_counter() - started) * 1000
        text, usage, served = _parse(response)
        if self.cache is not None:
            answer = {"text": text, "usage": usage, "model": served, "latency_ms": latency_ms}
            self.cache.put(key, answer)
        return Completion(text, usage, served, latency_ms)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _parse(response: Any) -> tuple[str, dict[str, Any], str | None]:
    """(text, usage, model) of a chat completion; a body of another shape is an error."""
    choices = response.get("choices") if isinstance(response, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        shown = str(response)[:200]
        raise MalformedAnswer(f"the endpoint's answer is not a chat completion: {shown!r}")
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    usage = response.get("usage")
    served = response.get("model")
    return str(content or ""), usage if isinstance(usage, dict) else {}, served


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
