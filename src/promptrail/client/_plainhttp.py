"""GET over plain HTTP on a bare socket: the sync client's path to an http:// URL.

An application's first `get_prompt` should not wait for httpx to import (and, for an
http:// URL, for an SSL context nobody uses), nor for `http.client`, whose import pulls
in the `email` package to parse headers: together they cost several times what the
fetch itself does. A GET of one prompt needs little of HTTP/1.1, written out here and
read back by `_wire.py`. https:// URLs and a caller's own `transport=` still go through
httpx. Connections are pooled (a few idle ones kept) and thread-safe; a kept-alive
connection the server has closed meanwhile is replaced once, silently (only one that was
reused: a fresh connection that closes without an answer is a broken answer).

One deadline, `timeout` seconds from the call, bounds the whole request: connecting,
sending and every read, so a server dripping a byte at a time cannot hold a caller longer.
A request that would carry CR, LF or another control character (in its path or a header)
is never sent.
"""

from __future__ import annotations

import socket
import threading
from time import monotonic
from urllib.parse import urlencode, urlsplit

from promptrail.client._wire import (
    Answer,
    BrokenAnswer,
    ConnectFailed,
    RequestTimeout,
    TransportError,
    Wire,
    read_answer,
    token,
    value,
    visible,
)

__all__ = [
    "MAX_IDLE",
    "Answer",
    "BrokenAnswer",
    "ConnectFailed",
    "PlainHttp",
    "RequestTimeout",
    "TransportError",
]

MAX_IDLE = 4


class PlainHttp:
    """`get(path, params=, headers=, timeout=)` against one http:// base URL."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        # An ASCII host as bytes: the socket module then skips the IDNA codec, whose
        # import (with stringprep and unicodedata) costs more than the connection.
        self._address = self.host.encode("ascii") if self.host.isascii() else self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        host = host if self.port == 80 else f"{host}:{self.port}"
        self._host_header = host.encode("ascii") if host.isascii() else host.encode("idna")
        self._idle: list[Wire] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(
        self, path: str, *, params: dict[str, str], headers: dict[str, str], timeout: float
    ) -> Answer:
        if self._closed:
            raise RuntimeError("the client was closed")
        target = f"{self.prefix}{path}?{urlencode(params)}" if params else self.prefix + path
        request = self._request(target, headers)
        deadline = monotonic() + timeout
        with self._lock:
            wire = self._idle.pop() if self._idle else None
        if wire is not None:
            try:
                return self._exchange(wire, request, deadline)
            except _Unanswered:
                pass  # the server closed this kept-alive connection meanwhile: once more
        wire = self._connect(deadline, timeout)
        try:
            return self._exchange(wire, request, deadline)
        except _Unanswered as exc:
            raise BrokenAnswer(f"closed without an answer ({exc})") from exc

    def _request(self, target: str, headers: dict[str, str]) -> bytes:
        """The request's bytes; TransportError for one that must not be sent."""
        try:
            path = target.encode("ascii")
        except UnicodeEncodeError:
            raise TransportError(f"refused to send a non-ASCII path {target!r}") from None
        if not visible(path):
            raise TransportError(f"refused to send a path with a control character: {target!r}")
        lines = [b"GET " + path + b" HTTP/1.1", b"Host: " + self._host_header]
        lines.append(b"Accept-Encoding: identity")
        for name, text in headers.items():
            try:
                raw_name, raw = name.encode("ascii"), text.encode("latin-1")
            except UnicodeEncodeError:
                raise TransportError(f"refused to send header {name!r}: not Latin-1") from None
            if not token(raw_name) or not value(raw):
                raise TransportError(
                    f"refused to send header {name!r}: a control character in its name or value"
                )
            lines.append(raw_name + b": " + raw)
        lines += [b"", b""]
        return b"\r\n".join(lines)

    def _connect(self, deadline: float, timeout: float) -> Wire:
        try:
            sock = socket.create_connection(
                (self._address, self.port),  # type: ignore[arg-type]
                max(deadline - monotonic(), 1e-3),
            )
        except TimeoutError as exc:
            raise RequestTimeout(f"no connection within {timeout:.2g} s") from exc
        except OSError as exc:
            raise ConnectFailed(f"{type(exc).__name__}: {exc}") from exc
        return Wire(sock)

    def _exchange(self, wire: Wire, request: bytes, deadline: float) -> Answer:
        """Send `request` on `wire` and read its answer; the wire is closed unless it
        went back to the pool."""
        try:
            try:
                wire.send(request, deadline)
                answer, reusable = read_answer(wire, deadline)
            except TimeoutError as exc:
                raise RequestTimeout("no answer within the timeout") from exc
            except OSError as exc:
                if wire.received:
                    raise BrokenAnswer(f"{type(exc).__name__}: {exc}") from exc
                raise _Unanswered(f"{type(exc).__name__}: {exc}") from exc
            except EOFError as exc:
                if wire.received:
                    raise BrokenAnswer(f"the answer ended early ({exc})") from exc
                raise _Unanswered("closed before the status line") from exc
        except BaseException:
            wire.close()
            raise
        if reusable:
            self._give_back(wire)
        else:
            wire.close()
        return answer

    def _give_back(self, wire: Wire) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(wire)
                return
        wire.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for wire in idle:
            wire.close()


class _Unanswered(Exception):
    """The connection failed before a byte of the answer came: on a kept-alive
    connection, the server had closed it."""
