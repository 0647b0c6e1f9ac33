"""One HTTP/1.1 answer read off a socket, strictly: what `_plainhttp.PlainHttp` receives.

The body is framed by chunked transfer-encoding (trailers read and dropped), by
Content-Length, or else runs to the connection's end; interim 1xx answers are skipped.
Anything outside the grammar is a BrokenAnswer, never another exception: a status line
that is not HTTP/1.x, a header name that is not a token, a control character in a
header value (CR, LF, NUL, ... but HTAB), both Transfer-Encoding and Content-Length
(the shape of a smuggled answer), a Content-Length that is not one number, a header
section (interim answers and trailers included) over MAX_HEADER_BYTES, a body over
MAX_BODY_BYTES, or an answer that ends early. Header names are lowercased; repeated
headers are joined with ", ".
"""

from __future__ import annotations

import socket
from time import monotonic

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024

# What may appear where: a header name (RFC 9110 token), a header value or reason
# phrase (visible ASCII, space, HTAB, obs-text), a request target (visible ASCII).
_TCHAR = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE = bytes([9, *range(0x20, 0x7F), *range(0x80, 0x100)])
_VISIBLE = bytes(range(0x21, 0x7F))
_HEX = b"0123456789abcdefABCDEF"


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


def token(data: bytes) -> bool:
    return bool(data) and not data.translate(None, _TCHAR)


def value(data: bytes) -> bool:
    return not data.translate(None, _VALUE)


def visible(data: bytes) -> bool:
    return bool(data) and not data.translate(None, _VISIBLE)


class Wire:
    """A connection: its socket and the bytes read from it not yet used.

    `received` says whether any byte came since the last send: a failure before one, on
    a kept-alive connection, means the server had closed it. Reads raise TimeoutError
    past the deadline and EOFError at the connection's end.
    """

    __slots__ = ("buffer", "received", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()
        self.received = False

    def send(self, data: bytes, deadline: float) -> None:
        self.received = False
        self.sock.settimeout(_left(deadline))
        self.sock.sendall(data)

    def fill(self, deadline: float) -> None:
        self.sock.settimeout(_left(deadline))
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self.received = True
        self.buffer += data

    def line(self, deadline: float, limit: int, what: str) -> tuple[bytes, int]:
        """The next line without its CRLF (or bare LF), and the bytes it took."""
        start = 0
        while (end := self.buffer.find(b"\n", start)) < 0:
            if len(self.buffer) >= limit:
                raise BrokenAnswer(f"the {what} is over {limit} bytes")
            start = len(self.buffer)
            self.fill(deadline)
        if end >= limit:
            raise BrokenAnswer(f"the {what} is over {limit} bytes")
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        return (line[:-1] if line.endswith(b"\r") else line), end + 1

    def take(self, size: int, deadline: float) -> bytes:
        while len(self.buffer) < size:
            try:
                self.fill(deadline)
            except EOFError:
                raise BrokenAnswer(
                    f"the answer ended early: {len(self.buffer)} of {size} bytes"
                ) from None
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def rest(self, deadline: float) -> bytes:
        """Everything until the server closes the connection."""
        while len(self.buffer) <= MAX_BODY_BYTES:
            try:
                self.fill(deadline)
            except EOFError:
                data = bytes(self.buffer)
                self.buffer.clear()
                return data
        raise BrokenAnswer(f"the body is over {MAX_BODY_BYTES} bytes")

    def close(self) -> None:
        self.sock.close()


def read_answer(wire: Wire, deadline: float) -> tuple[Answer, bool]:
    """The next answer on `wire` and whether the connection can carry another request."""
    budget = MAX_HEADER_BYTES
    while True:
        line, used = wire.line(deadline, budget, "header section")
        budget -= used
        version, status = _status(line)
        headers, budget = _fields(wire, deadline, budget)
        if status >= 200:
            break
        if status == 101:
            raise BrokenAnswer("HTTP 101 (switching protocols) to a GET that asked for none")
        # 100 Continue, 103 Early Hints, ...: the real answer follows.
    keep = _keep_alive(version, headers.get("connection"))
    chunked, length = headers.get("transfer-encoding"), headers.get("content-length")
    if status in (204, 304):
        body = b""  # never a body, whatever the headers say
    elif chunked is not None:
        if length is not None:
            raise BrokenAnswer("both Transfer-Encoding and Content-Length (a smuggled answer?)")
        if chunked.strip(" \t").lower() != "chunked":
            raise BrokenAnswer(f"Transfer-Encoding {chunked!r} is not supported")
        body = _chunked(wire, deadline, budget)
    elif length is not None:
        body = wire.take(_length(length), deadline)
    else:
        body = wire.rest(deadline)
        keep = False
    # Bytes past the answer were never asked for: the connection is not to be trusted.
    return Answer(status, headers, body), keep and not wire.buffer


def _status(line: bytes) -> tuple[bytes, int]:
    parts = line.split(b" ", 2)
    if (
        len(parts) < 2
        or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0")
        or len(parts[1]) != 3
        or not parts[1].isdigit()
        or parts[1] < b"100"
        or (len(parts) == 3 and not value(parts[2]))
    ):
        raise BrokenAnswer(f"not an HTTP/1.x status line: {line[:100]!r}")
    return parts[0], int(parts[1])


def _fields(wire: Wire, deadline: float, budget: int) -> tuple[dict[str, str], int]:
    """Header (or trailer) lines up to the empty one, and what is left of the budget."""
    fields: dict[str, str] = {}
    while True:
        line, used = wire.line(deadline, budget, "header section")
        budget -= used
        if not line:
            return fields, budget
        raw_name, colon, raw = line.partition(b":")
        raw = raw.strip(b" \t")
        if not colon or not token(raw_name) or not value(raw):
            # A name with spaces or a folded line is how one answer hides another.
            raise BrokenAnswer(f"a malformed header line: {line[:100]!r}")
        name, text = raw_name.decode("ascii").lower(), raw.decode("latin-1")
        fields[name] = f"{fields[name]}, {text}" if name in fields else text


def _keep_alive(version: bytes, connection: str | None) -> bool:
    options = {o.strip(" \t").lower() for o in connection.split(",")} if connection else set()
    if version == b"HTTP/1.1":
        return "close" not in options
    return "keep-alive" in options


def _length(header: str) -> int:
    values = {v.strip(" \t") for v in header.split(",")}
    if len(values) != 1:
        raise BrokenAnswer(f"Content-Length {header!r} is not one number")
    (text,) = values
    if not text.isascii() or not text.isdigit():
        raise BrokenAnswer(f"Content-Length {header!r} is not a number")
    if len(text) > 12 or int(text) > MAX_BODY_BYTES:
        raise BrokenAnswer(f"the body is over {MAX_BODY_BYTES} bytes (Content-Length {text})")
    return int(text)


def _chunked(wire: Wire, deadline: float, budget: int) -> bytes:
    """A chunked body; its framing counts toward the body's limit, trailers toward the
    header section's."""
    parts: list[bytes] = []
    left = MAX_BODY_BYTES
    while True:
        line, used = wire.line(deadline, min(left, MAX_HEADER_BYTES), "chunk size line")
        left -= used
        size_text, _, extensions = line.partition(b";")
        size_text = size_text.strip(b" \t")
        if not size_text or size_text.translate(None, _HEX) or not value(extensions):
            raise BrokenAnswer(f"not a chunk size line: {line[:100]!r}")
        size = int(size_text, 16)
        if size == 0:
            _fields(wire, deadline, budget)  # trailers: read, checked and dropped
            return b"".join(parts)
        if size > left:
            raise BrokenAnswer(f"the body is over {MAX_BODY_BYTES} bytes")
        parts.append(wire.take(size, deadline))
        end, used = wire.line(deadline, 2, "line ending a chunk")
        if end:
            raise BrokenAnswer("a chunk's data is longer than its size")
        left -= size + used


def _left(deadline: float) -> float:
    left = deadline - monotonic()
    if left <= 0:
        raise TimeoutError
    return left
