"""The plain-HTTP transport against a peer that writes exact bytes: framing, limits,
malformed answers, smuggling, timeouts and kept-alive connections.

The peer is a raw TCP server, not an HTTP library: it answers each request it reads
with the next bytes of its script, so an answer can be anything a broken or hostile
server (or a proxy) could send.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

import pytest

from promptrail.client import Client, _wire
from promptrail.client._plainhttp import (
    BrokenAnswer,
    PlainHttp,
    RequestTimeout,
    TransportError,
)
from promptrail.content import content_hash, content_of
from promptrail.errors import RegistryUnavailable

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HOLD = None  # a script step: read the request, answer nothing, keep the connection open


class Peer:
    """Loopback TCP server answering the n-th request with `script[n]` (the last step
    repeats). `close=True` closes each connection after its answer, unannounced;
    `close={2}` only after the second request's."""

    def __init__(self, *script: bytes | None, close: bool | set[int] = False, drip: float = 0.0):
        self.script = list(script)
        self.close = close
        self.drip = drip  # seconds between single bytes of an answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed = threading.Event()  # set when the peer has closed a connection
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Peer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                if b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    buffer += data
                    continue
                request, buffer = buffer.split(b"\r\n\r\n", 1)
                with self._lock:
                    self.requests.append(request + b"\r\n\r\n")
                    number = len(self.requests)
                    step = self.script[min(number, len(self.script)) - 1]
                if step is None:
                    self._stop.wait()
                    return
                if self.drip:
                    for i in range(len(step)):
                        if self._stop.wait(self.drip):
                            return
                        conn.sendall(step[i : i + 1])
                else:
                    conn.sendall(step)
                if self.close is True or (self.close and number in self.close):
                    break
        self.closed.set()


@pytest.fixture
def plain() -> Iterator[list[PlainHttp]]:
    """Transports made by a test (`http(peer)`), all closed after it."""
    made: list[PlainHttp] = []
    yield made
    for transport in made:
        transport.close()


def get(peer: Peer, made: list[PlainHttp], timeout: float = 5.0) -> tuple[PlainHttp, object]:
    transport = PlainHttp(peer.url)
    made.append(transport)
    return transport, transport.get("/p", params={}, headers={}, timeout=timeout)


def prompt_answer(extra_header: bytes = b"") -> bytes:
    """A valid registry answer for prompt `p` (production, version 1)."""
    text = "hi {{x}}"
    body = json.dumps(
        {
            "name": "p",
            "version": 1,
            "type": "text",
            "prompt": text,
            "config": {},
            "labels": ["production"],
            "tags": [],
            "hash": content_hash(content_of("text", text, None, {})),
        }
    ).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra_header
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


# -- framing ----------------------------------------------------------------------------------


def test_the_request_is_one_plain_get(plain: list[PlainHttp]) -> None:
    with Peer(OK) as peer:
        transport = PlainHttp(peer.url + "/base/")
        plain.append(transport)
        answer = transport.get(
            "/api/v1/prompts/a%2Fb",
            params={"label": "a b"},
            headers={"Accept": "application/json"},
            timeout=5,
        )
        assert answer.status_code == 200
        port = peer.url.rsplit(":", 1)[1]
        assert peer.requests == [
            b"GET /base/api/v1/prompts/a%2Fb?label=a+b HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{port}\r\n".encode()
            + b"Accept-Encoding: identity\r\nAccept: application/json\r\n\r\n"
        ]


def test_a_chunked_body_is_decoded_and_its_trailers_consumed(plain: list[PlainHttp]) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
        b"4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
        b"0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n"
    )
    with Peer(chunked, OK) as peer:
        transport, answer = get(peer, plain)
        assert answer.content == b"Wikipedia in\r\n\r\nchunks."  # type: ignore[attr-defined]
        # The trailers were read to their end: the connection carries the next request.
        assert transport.get("/p", params={}, headers={}, timeout=5).content == b"ok"
        assert peer.connections == 1


def test_a_body_without_a_length_runs_to_the_connection_s_end(plain: list[PlainHttp]) -> None:
    answer_bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\r\n\r\nworld"
    with Peer(answer_bytes, close=True) as peer:
        transport, answer = get(peer, plain)
        assert answer.content == b"hello\r\n\r\nworld"  # type: ignore[attr-defined]
        assert transport._idle == []  # a connection read to its end is not reused


def test_interim_answers_come_before_the_real_one(plain: list[PlainHttp]) -> None:
    interim = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: "v1"\r\n\r\nfinal'
    )
    with Peer(interim) as peer:
        _, answer = get(peer, plain)
        assert answer.status_code == 200  # type: ignore[attr-defined]
        assert answer.content == b"final"  # type: ignore[attr-defined]
        assert answer.headers == {"content-length": "5", "etag": '"v1"'}  # type: ignore[attr-defined]


def test_header_names_are_case_insensitive_and_repeats_joined(plain: list[PlainHttp]) -> None:
    answer_bytes = (
        b'HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2\r\nEtag:  "x"\t\r\n'
        b"Vary: a\r\nvary: b\r\nX-Latin: caf\xe9\r\n\r\nok"
    )
    with Peer(answer_bytes) as peer:
        _, answer = get(peer, plain)
        assert answer.headers["etag"] == '"x"'  # type: ignore[attr-defined]
        assert answer.headers["vary"] == "a, b"  # type: ignore[attr-defined]
        assert answer.headers["x-latin"] == "café"  # type: ignore[attr-defined]
        assert answer.content == b"ok"  # type: ignore[attr-defined]


def test_connection_close_and_http_1_0_are_not_reused(plain: list[PlainHttp]) -> None:
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    old = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for answer_bytes in (close, old):
        with Peer(answer_bytes) as peer:
            transport, _ = get(peer, plain)
            assert transport._idle == []
            transport.get("/p", params={}, headers={}, timeout=5)
            assert peer.connections == 2


# -- kept-alive connections -----------------------------------------------------------------


def test_a_kept_alive_connection_the_server_closed_is_retried_once(
    plain: list[PlainHttp],
) -> None:
    with Peer(OK, b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond", close=True) as peer:
        transport, first = get(peer, plain)
        assert first.content == b"ok"  # type: ignore[attr-defined]
        assert len(transport._idle) == 1  # the server did not say it would close
        assert peer.closed.wait(5)
        second = transport.get("/p", params={}, headers={}, timeout=5)
        assert second.content == b"second"
        assert peer.connections == 2


def test_a_fresh_connection_closed_without_an_answer_is_not_retried(
    plain: list[PlainHttp],
) -> None:
    with Peer(b"", close=True) as peer:
        with pytest.raises(BrokenAnswer, match="closed without an answer"):
            get(peer, plain)
        assert peer.connections == 1


@pytest.mark.parametrize(
    "cut",
    [b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ncut", b"HTTP/1.1 200 OK\r\nContent-"],
    ids=["in the body", "in the headers"],
)
def test_a_reused_connection_that_breaks_mid_answer_is_not_retried(
    cut: bytes, plain: list[PlainHttp]
) -> None:
    # The server answered on the kept-alive connection, then broke off: not a stale
    # connection, a broken answer (the client's own retries decide what comes next).
    with Peer(OK, cut, close={2}) as peer:
        transport, _ = get(peer, plain)
        with pytest.raises(BrokenAnswer, match="ended early"):
            transport.get("/p", params={}, headers={}, timeout=5)
        assert peer.connections == 1


# -- broken answers ---------------------------------------------------------------------------


def test_a_truncated_body_is_a_broken_answer(plain: list[PlainHttp]) -> None:
    truncated = HEAD + b"Content-Length: 100\r\n\r\nshort"
    with Peer(truncated, close=True) as peer, pytest.raises(BrokenAnswer, match="5 of 100 bytes"):
        get(peer, plain)


HEAD = b"HTTP/1.1 200 OK\r\n"
TWO = b"Content-Length: 2\r\n\r\nok"
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
MALFORMED = {
    "control character in a value": HEAD + b"X-Bad: a\x01b\r\n" + TWO,
    "NUL in a value": HEAD + b"X-Bad: a\x00b\r\n" + TWO,
    "bare CR in a value": HEAD + b"X-Bad: a\rb\r\n" + TWO,
    "DEL in a value": HEAD + b"X-Bad: a\x7fb\r\n" + TWO,
    "space before the colon": HEAD + b"Content-Length : 2\r\n\r\nok",
    "control character in a name": HEAD + b"X\x01: b\r\n" + TWO,
    "no colon": HEAD + b"Content-Length 2\r\n\r\nok",
    "folded line": HEAD + b"X-A: b\r\n c\r\n" + TWO,
    "letters for a status": b"HTTP/1.1 2OO OK\r\n" + TWO,
    "two-digit status": b"HTTP/1.1 20 OK\r\n" + TWO,
    "not HTTP/1.x": b"HTTP/2 200 OK\r\n" + TWO,
    "no status line": b"<html>hello</html>\r\n\r\n",
    "control character in the reason": b"HTTP/1.1 200 O\x02K\r\n" + TWO,
    "switching protocols": b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    "two lengths": HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    "a length not a number": HEAD + b"Content-Length: +2\r\n\r\nok",
    "a length in superscript": HEAD + b"Content-Length: \xb2\r\n\r\nok",
    "length and chunked": HEAD
    + b"Content-Length: 2\r\n"
    + CHUNKED[len(HEAD) :]
    + b"2\r\nok\r\n0\r\n\r\n",
    "a coding other than chunked": HEAD + b"Transfer-Encoding: gzip\r\n\r\nok",
    "a chunk size not hex": CHUNKED + b"0x2\r\nok\r\n0\r\n\r\n",
    "a chunk longer than its size": CHUNKED + b"2\r\nokay\r\n0\r\n\r\n",
    "a chunked body cut short": CHUNKED + b"9\r\nok",
    "a trailer with a control character": CHUNKED + b"2\r\nok\r\n0\r\nX: \x01\r\n\r\n",
    "headers cut short": HEAD + b"Content-Length: 2\r\n",
}


@pytest.mark.parametrize("answer_bytes", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_is_a_broken_answer(answer_bytes: bytes, plain: list[PlainHttp]) -> None:
    with Peer(answer_bytes, close=True) as peer, pytest.raises(BrokenAnswer):
        get(peer, plain)


def test_a_header_with_a_control_character_makes_the_registry_unavailable() -> None:
    """Through the client: its fallback, else RegistryUnavailable naming the broken
    answer, not an "unexpected" error (which is what an uncaught exception becomes)."""
    with Peer(prompt_answer(b"X-Bad: a\x01b\r\n")) as peer:
        with Client(peer.url, timeout=5, max_retries=0) as client:
            assert client.get_prompt("p", fallback="fb {{x}}").source == "fallback"
        with (
            Client(peer.url, timeout=5, max_retries=0) as client,
            pytest.raises(RegistryUnavailable) as raised,
        ):
            client.get_prompt("p")
        message = str(raised.value)
        assert "broke mid-answer (a malformed header line" in message, message
        assert "unexpected" not in message
    fine = Peer(prompt_answer(b"X-Fine: a\tb\r\n"))  # HTAB is allowed in a value
    with fine as peer, Client(peer.url, timeout=5, max_retries=0) as client:
        assert client.get_prompt("p").source == "registry"


# -- limits -----------------------------------------------------------------------------------


def test_a_header_section_over_64_kib_is_a_broken_answer(plain: list[PlainHttp]) -> None:
    def answer(size: int) -> bytes:
        return b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * size + b"\r\nContent-Length: 2\r\n\r\nok"

    with Peer(answer(60 * 1024)) as peer:
        assert get(peer, plain)[1].content == b"ok"  # type: ignore[attr-defined]
    with Peer(answer(70 * 1024), close=True) as peer, pytest.raises(BrokenAnswer, match="over"):
        get(peer, plain)
    # Many small header lines count as much as one long one.
    many = b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 12_000 + b"Content-Length: 2\r\n\r\nok"
    with Peer(many, close=True) as peer, pytest.raises(BrokenAnswer, match="over"):
        get(peer, plain)
    # So do interim answers: an endless stream of them is not read forever.
    endless = b"HTTP/1.1 100 Continue\r\n\r\n" * 3000
    with Peer(endless, close=True) as peer, pytest.raises(BrokenAnswer, match="over"):
        get(peer, plain)


@pytest.mark.parametrize(
    "answer_bytes",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n" + b"a" * 1001,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"100\r\n" + b"a" * 256 + b"\r\n") * 5
        + b"0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n" + b"a" * 1001,
    ],
    ids=["content-length", "chunked", "to the end"],
)
def test_a_body_over_the_limit_is_a_broken_answer(
    answer_bytes: bytes, plain: list[PlainHttp], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _wire.MAX_BODY_BYTES == 64 * 1024 * 1024
    monkeypatch.setattr(_wire, "MAX_BODY_BYTES", 1000)
    with Peer(answer_bytes, close=True) as peer, pytest.raises(BrokenAnswer, match="over 1000"):
        get(peer, plain)


def test_a_body_at_the_limit_is_read(
    plain: list[PlainHttp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_wire, "MAX_BODY_BYTES", 1000)
    with Peer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"a" * 1000) as peer:
        assert len(get(peer, plain)[1].content) == 1000  # type: ignore[attr-defined]


# -- timeouts ---------------------------------------------------------------------------------


def test_no_answer_is_a_timeout(plain: list[PlainHttp]) -> None:
    with Peer(HOLD) as peer:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            get(peer, plain, timeout=0.3)
        assert time.monotonic() - started < 2.0


def test_one_deadline_bounds_an_answer_dripping_a_byte_at_a_time(plain: list[PlainHttp]) -> None:
    # Each byte comes well within the timeout; the answer as a whole does not.
    with Peer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", drip=0.05) as peer:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            get(peer, plain, timeout=0.5)
        assert time.monotonic() - started < 1.5


# -- requests that are never sent -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/p\r\nX-Injected: 1", {}),
        ("/p HTTP/1.1\r\n\r\nGET /other", {}),
        ("/p\x00", {}),
        ("/p q", {}),
        ("/p\u00e9", {}),
        ("/p", {"Authorization": "Bearer k\r\nX-Injected: 1"}),
        ("/p", {"Authorization": "Bearer k\n"}),
        ("/p", {"Authorization": "Bearer \x7f"}),
        ("/p", {"X-Bad Name": "v"}),
        ("/p", {"X-Bad:Name": "v"}),
        ("/p", {"Authorization": "Bearer \u20ac"}),
    ],
)
def test_a_request_with_cr_lf_or_control_characters_is_never_sent(
    path: str, headers: dict[str, str], plain: list[PlainHttp]
) -> None:
    with Peer(OK) as peer:
        transport = PlainHttp(peer.url)
        plain.append(transport)
        with pytest.raises(TransportError, match="refused to send"):
            transport.get(path, params={}, headers=headers, timeout=5)
        assert peer.connections == 0
        assert transport.get("/p", params={}, headers={}, timeout=5).content == b"ok"
        assert peer.requests[0].startswith(b"GET /p HTTP/1.1\r\n")
