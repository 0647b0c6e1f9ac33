"""A fake of the few GitHub REST endpoints `promptrail comment` uses, on a loopback port.

List, create and update issue comments, with pagination (`Link` headers), token checks,
404 for unknown repositories and a switch that answers like an exhausted rate limit.
Every request is logged, so a test can assert what was sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


@dataclass
class FakeGitHub:
    """`with FakeGitHub(token="t") as gh:` then point GITHUB_API_URL at `gh.url`."""

    token: str = "test-token"
    repositories: set[str] = field(default_factory=lambda: {"acme/prompts"})
    page_size_cap: int = 100  # GitHub's own maximum per_page
    rate_limited: bool = False
    read_only: bool = False  # a fork's token: reads work, writes get 403
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    _next_id: int = 1000
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state helpers for tests ----------------------------------------------------------

    def add_comment(self, repository: str, number: int, body: str, user: str = "someone") -> int:
        with self._lock:
            return self._create(repository, number, body, user)["id"]

    def comments_of(self, repository: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self.comments.get((repository, number), [])]

    def writes(self) -> list[Request]:
        return [r for r in self.log if r.method != "GET"]

    # -- HTTP ------------------------------------------------------------------------------

    def _create(self, repository: str, number: int, body: str, user: str) -> dict[str, Any]:
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "body": body,
            "user": {"login": user},
            "html_url": f"https://github.example/{repository}/pull/{number}"
            f"#issuecomment-{self._next_id}",
        }
        self.comments.setdefault((repository, number), []).append(comment)
        return comment

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        auth = handler.headers.get("Authorization")
        self.log.append(Request(method, parts.path, parse_qs(parts.query), body, auth))
        if self.rate_limited:
            _send(handler, 403, {"message": "API rate limit exceeded"}, rate_limited=True)
            return
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            _send(handler, 401, {"message": "Bad credentials"})
            return
        if self.read_only and method != "GET":
            _send(handler, 403, {"message": "Resource not accessible by integration"})
            return
        segments = parts.path.strip("/").split("/")
        with self._lock:
            status, payload, headers = self._route(method, segments, parse_qs(parts.query), body)
        _send(handler, status, payload, headers=headers)

    def _route(
        self, method: str, seg: list[str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        not_found = (404, {"message": "Not Found"}, {})
        if len(seg) < 5 or seg[0] != "repos" or seg[3] != "issues":
            return not_found
        repository = f"{seg[1]}/{seg[2]}"
        if repository not in self.repositories:
            return not_found
        if len(seg) == 6 and seg[5] == "comments" and seg[4].isdigit():
            number = int(seg[4])
            if method == "GET":
                return self._list(repository, number, query)
            if method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("body"), str):
                    return 422, {"message": "Validation Failed"}, {}
                return 201, self._create(repository, number, body["body"], "github-actions"), {}
        if len(seg) == 6 and seg[4] == "comments" and seg[5].isdigit() and method == "PATCH":
            for comments in self.comments.values():
                for comment in comments:
                    if comment["id"] == int(seg[5]):
                        comment["body"] = body["body"]
                        return 200, comment, {}
        return not_found

    def _list(
        self, repository: str, number: int, query: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), self.page_size_cap)
        page = int(query.get("page", ["1"])[0])
        comments = self.comments.get((repository, number), [])
        chunk = comments[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(comments):
            path = f"/repos/{repository}/issues/{number}/comments"
            headers["Link"] = f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return 200, chunk, headers


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    rate_limited: bool = False,
) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    if rate_limited:
        handler.send_header("X-RateLimit-Remaining", "0")
        handler.send_header("Retry-After", "60")
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)
