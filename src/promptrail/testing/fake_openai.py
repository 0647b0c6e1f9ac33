"""A local stand-in for OpenAI's chat completions and Responses APIs, for tests, examples and
the demo.

It speaks enough of the real HTTP API for the official `openai` package to work against
it unchanged: `POST /v1/chat/completions` with JSON or SSE streaming (`stream: true`,
with the usage chunk when `stream_options.include_usage`), token usage, and structured
output (`response_format` of type `json_schema` or `json_object`); `POST /v1/responses`
with JSON or SSE streaming (the Responses API's typed events, ending in
`response.completed` with usage). Replies are deterministic functions of the request, so
tests can assert on them:

- with a JSON schema, an object that satisfies it, enums chosen by keywords in the
  last user message (see QUEUE_WORDS) and strings summarizing it;
- with `json_object`, `{"queue": ...}` chosen the same way;
- otherwise a short reply that quotes the start of the last user message.

The model name `fail` answers 400 and `overloaded` 503, to exercise error paths.
Tests can also inject, on a running server: `latency` (seconds before each answer),
`fail_next(n, status, retry_after=...)` (the next n requests fail, 429 with a
`Retry-After` header for rate limits), `fail_when(text, status)` (every request whose
last user message contains `text`), `reply_when(text, content)` (a fixed answer, e.g. a
judge's verdict or one no evaluator accepts), and `malformed_when(text)` (a 200 whose
body is not a chat completion).
Run it alone with `python -m promptrail.testing.fake_openai --port 8711 [--latency 0.05]`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

QUEUE_WORDS = {
    "billing": ("refund", "charge", "invoice", "billing", "payment", "paid", "price"),
    "bug": ("error", "crash", "bug", "broken", "fails", "exception"),
    "account": ("password", "login", "log in", "account", "sign in", "2fa"),
}


def tokens(text: str) -> int:
    """A stable token estimate: about four characters per token."""
    return max(1, (len(text) + 3) // 4)


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # content parts
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def guess_choice(text: str, options: list[Any]) -> Any:
    lowered = text.lower()
    for option in options:
        if str(option).lower() in lowered:
            return option
    for option in options:
        if any(word in lowered for word in QUEUE_WORDS.get(str(option), ())):
            return option
    return "other" if "other" in options else options[-1]


def from_schema(schema: dict[str, Any], text: str, defs: dict[str, Any], key: str = "") -> Any:
    """A value that satisfies a (simple) JSON schema, derived from the user's text."""
    if "$ref" in schema:
        return from_schema(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), text, defs, key)
    for combiner in ("anyOf", "oneOf", "allOf"):
        if schema.get(combiner):
            return from_schema(schema[combiner][0], text, defs, key)
    if "enum" in schema:
        return guess_choice(text, schema["enum"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: from_schema(sub, text, defs, name) for name, sub in props.items()}
    if kind == "array":
        return [from_schema(schema.get("items", {}), text, defs, key)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 0.9
    if kind == "boolean":
        return True
    words = text.split()
    return (
        " ".join(words[:12])
        if key in ("summary", "reason", "text")
        else (words[0] if words else key)
    )


def reply_for(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    text = _last_user(messages)
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") or {}
        return json.dumps(from_schema(schema, text, schema.get("$defs", {})))
    if fmt.get("type") == "json_object":
        return json.dumps({"queue": guess_choice(text, ["billing", "bug", "account", "other"])})
    quoted = " ".join(text.split()[:12]).rstrip(".!?")
    return f"Thanks for writing in about: {quoted}. We are on it and will follow up shortly."


def completion(body: dict[str, Any], reply: str) -> dict[str, Any]:
    prompt_text = json.dumps(body.get("messages") or [])
    usage = _usage(prompt_text, reply)
    return {
        "id": "chatcmpl-" + hashlib.sha256((prompt_text + reply).encode()).hexdigest()[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _served_model(body),
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def _served_model(body: dict[str, Any]) -> str:
    model = str(body.get("model") or "gpt-4o-mini")
    return {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}.get(
        model, model
    )


def _usage(prompt_text: str, reply: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = tokens(prompt_text), tokens(reply)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def chunks(body: dict[str, Any], reply: str) -> list[dict[str, Any]]:
    """The SSE chunks of a streamed reply: role, content pieces, finish, [usage]."""
    base = {
        "id": "chatcmpl-fake-stream",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": _served_model(body),
        "system_fingerprint": "fp_fake",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    words = reply.split(" ")
    pieces = [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)]
    pieces[-1] = pieces[-1].rstrip(" ")
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": piece}) for piece in pieces]
    out.append(chunk({}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = _usage(json.dumps(body.get("messages") or []), reply)
        out.append({**base, "choices": [], "usage": usage})
    return out


def as_messages(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses API request (`input`: text or messages) as a chat request, to reply."""
    given = body.get("input")
    if isinstance(given, str):
        messages = [{"role": "user", "content": given}]
    else:
        messages = [m for m in given or [] if isinstance(m, dict)]
    return {**body, "messages": messages}


def response(body: dict[str, Any], reply: str, status: str = "completed") -> dict[str, Any]:
    """A Responses API `response` object."""
    chat = as_messages(body)
    usage = _usage(json.dumps(chat["messages"]), reply)
    return {
        "id": "resp_" + hashlib.sha256(reply.encode()).hexdigest()[:24],
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": _served_model(body),
        "instructions": body.get("instructions"),
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage["total_tokens"],
        },
    }


def response_events(body: dict[str, Any], reply: str) -> list[tuple[str, dict[str, Any]]]:
    """The SSE events of a streamed Responses API reply, as (event name, data)."""
    final = response(body, reply)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    item = {**final["output"][0], "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    words = reply.split(" ")
    pieces = [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)]
    pieces[-1] = pieces[-1].rstrip(" ")
    at = {"item_id": item["id"], "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **at, "part": part},
    ]
    events += [
        {"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []}
        for piece in pieces
    ]
    events += [
        {"type": "response.output_text.done", **at, "text": reply, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": {**part, "text": reply}},
        {"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]},
        {"type": "response.completed", "response": final},
    ]
    return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request"}})
            return
        path = self.path.rstrip("/")
        if not path.endswith(("/chat/completions", "/responses")):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        with self.server.lock:
            self.server.requests.append(body)
            self.server.times.append(time.monotonic())
            failure = self.server.next_failure(body)
        if self.server.latency:
            time.sleep(self.server.latency)
        if failure is not None:
            status, retry_after = failure
            headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
            kind = "rate_limit_exceeded" if status == 429 else "server_error"
            self._json(status, {"error": {"message": f"injected {status}", "type": kind}}, headers)
            return
        model = body.get("model")
        if model == "fail":
            self._json(400, {"error": {"message": "model `fail` always fails", "type": "invalid"}})
            return
        if model == "overloaded":
            self._json(503, {"error": {"message": "overloaded", "type": "server_error"}})
            return
        raw = self.server.raw_reply(body)
        if raw is not None:
            self._json(200, raw)
            return
        if path.endswith("/responses"):
            reply = self.server.scripted_reply(body) or reply_for(as_messages(body))
            if body.get("stream"):
                self._stream(response_events(body, reply))
            else:
                self._json(200, response(body, reply))
            return
        reply = self.server.scripted_reply(body) or reply_for(body)
        if body.get("stream"):
            self._stream(chunks(body, reply))
        else:
            self._json(200, completion(body, reply))

    def _json(
        self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, items: list[Any]) -> None:
        """Server-sent events: each item a data object, or (event name, data object)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for i, item in enumerate(items):
            if i and self.server.chunk_delay:
                time.sleep(self.server.chunk_delay)
            if isinstance(item, tuple):
                self.wfile.write(f"event: {item[0]}\ndata: {json.dumps(item[1])}\n\n".encode())
            else:
                self.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
            self.wfile.flush()
        if not (items and isinstance(items[0], tuple)):  # named events end with the last one
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a benchmark opens dozens of connections at once
    requests: list[dict[str, Any]]
    chunk_delay: float

    def setup_faults(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []  # when each request arrived (time.monotonic)
        self.latency = 0.0
        self.failures: list[tuple[int, float | None]] = []  # the next requests' answers
        self.fail_rules: list[tuple[str, int]] = []
        self.reply_rules: list[tuple[str, str | Callable[[str], str]]] = []
        self.raw_rules: list[tuple[str, dict[str, Any]]] = []

    def next_failure(self, body: dict[str, Any]) -> tuple[int, float | None] | None:
        if self.failures:
            return self.failures.pop(0)
        text = _last_user(body.get("messages") or [])
        for needle, status in self.fail_rules:
            if needle in text:
                return status, None
        return None

    def raw_reply(self, body: dict[str, Any]) -> dict[str, Any] | None:
        text = _last_user(body.get("messages") or [])
        return next((raw for needle, raw in self.raw_rules if needle in text), None)

    def scripted_reply(self, body: dict[str, Any]) -> str | None:
        text = _last_user(body.get("messages") or [])
        for needle, content in self.reply_rules:
            if needle in text:
                return content(text) if callable(content) else content
        return None


class FakeOpenAI:
    """The fake server in a background thread: `with FakeOpenAI() as fake: fake.url`."""

    handler: type[BaseHTTPRequestHandler] = _Handler  # the routes (FakeAnthropic has others)

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        chunk_delay: float = 0.0,
        latency: float = 0.0,
    ):
        self._server = _Server((host, port), self.handler)
        self._server.requests = []
        self._server.chunk_delay = chunk_delay
        self._server.setup_faults()
        self._server.latency = latency
        self._thread: threading.Thread | None = None

    @property
    def latency(self) -> float:
        return self._server.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._server.latency = seconds

    @property
    def request_times(self) -> list[float]:
        """When each request arrived (time.monotonic), in order."""
        return self._server.times

    def fail_next(self, count: int, status: int = 429, retry_after: float | None = None) -> None:
        """The next `count` requests answer `status` (with `Retry-After` when given)."""
        with self._server.lock:
            self._server.failures.extend([(status, retry_after)] * count)

    def fail_when(self, text: str, status: int = 500) -> None:
        """Every request whose last user message contains `text` answers `status`."""
        self._server.fail_rules.append((text, status))

    def malformed_when(self, text: str, body: dict[str, Any] | None = None) -> None:
        """Requests whose last user message contains `text` get a 200 whose JSON body is
        not a chat completion (`{"result": "ok"}` unless given)."""
        self._server.raw_rules.append((text, body if body is not None else {"result": "ok"}))

    def reply_when(self, text: str, content: str | Callable[[str], str]) -> None:
        """Requests whose last user message contains `text` get `content` as the answer
        (or what `content(message)` returns: a noisy model, say)."""
        self._server.reply_rules.append((text, content))

    @property
    def url(self) -> str:
        """The base URL for `openai.OpenAI(base_url=...)` (ends in /v1)."""
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every chat completion request body received, in order."""
        return self._server.requests

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8711)
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    fake = FakeOpenAI(args.host, args.port, chunk_delay=args.chunk_delay, latency=args.latency)
    print(f"fake OpenAI API on {fake.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        fake._server.serve_forever()


if __name__ == "__main__":
    main()
