"""GET over plain HTTP with the standard library: the sync client's path to an http:// URL.

An application's first `get_prompt` should not wait for httpx to import (and, for an
http:// URL, for an SSL context nobody uses): together they cost several times what
the fetch itself does. `http.client` speaks HTTP/1.1 with keep-alive, which is all a
GET of one prompt needs. https:// URLs and a caller's own `transport=` still go
through httpx. Connections are pooled (a few idle ones kept) and thread-safe; a
kept-alive connection the server has closed meanwhile is replaced once, silently.
"""

from __future__ import annotations

import http.client
import socket
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

MAX_IDLE = 4


class TransportError(Exception):
    """No answer: the request could not be sent or the answer not read."""


class ConnectFailed(TransportError):
    pass


class BrokenAnswer(TransportError):
    pass


class RequestTimeout(TransportError):
    pass


class Answer:
    """What the client reads from an answer (the names httpx uses)."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes):
        self.status_code = status_code
        self.headers = headers
        self.content = content


class PlainHttp:
    """`get(path, params=, headers=, timeout=)` against one http:// base URL."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(
        self, path: str, *, params: dict[str, str], headers: dict[str, str], timeout: float
    ) -> Answer:
        if self._closed:
            raise RuntimeError("the client was closed")
        target = f"{self.prefix}{path}?{urlencode(params)}" if params else self.prefix + path
        conn, reused = self._take(timeout)
        try:
            return self._exchange(conn, target, headers, timeout)
        except (ConnectionError, http.client.RemoteDisconnected, BrokenAnswer) as exc:
            conn.close()
            if not reused:
                raise BrokenAnswer(str(exc) or type(exc).__name__) from exc
        # The server closed a kept-alive connection meanwhile: once more on a new one.
        conn = self._new(timeout)
        try:
            return self._exchange(conn, target, headers, timeout)
        except (ConnectionError, http.client.HTTPException) as exc:
            conn.close()
            raise BrokenAnswer(str(exc) or type(exc).__name__) from exc

    def _exchange(
        self, conn: http.client.HTTPConnection, target: str, headers: dict[str, str], timeout: float
    ) -> Answer:
        try:
            if conn.sock is None:
                conn.connect()
            else:
                conn.sock.settimeout(timeout)
        except TimeoutError as exc:
            conn.close()
            raise RequestTimeout(f"no connection within {timeout:.2g} s") from exc
        except OSError as exc:
            conn.close()
            raise ConnectFailed(f"{type(exc).__name__}: {exc}") from exc
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            content = response.read()
        except TimeoutError as exc:
            conn.close()
            raise RequestTimeout(f"no answer within {timeout:.2g} s") from exc
        except http.client.IncompleteRead as exc:
            conn.close()
            raise BrokenAnswer(f"the answer ended early ({exc})") from exc
        except http.client.HTTPException as exc:
            if isinstance(exc, http.client.RemoteDisconnected):
                raise
            conn.close()
            raise BrokenAnswer(f"{type(exc).__name__}: {exc}") from exc
        answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, content)
        if response.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return answer

    def _take(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new(timeout), False

    def _new(self, timeout: float) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        if self.host.isascii():
            # An ASCII host as bytes: the socket module then skips the IDNA codec, whose
            # import (with stringprep and unicodedata) costs more than the connection.
            conn._create_connection = _ascii_connect  # type: ignore[attr-defined]
        return conn

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _ascii_connect(
    address: tuple[str, int], timeout: float | None = None, source: Any = None
) -> socket.socket:
    host, port = address
    return socket.create_connection((host.encode("ascii"), port), timeout, source)  # type: ignore[arg-type]
