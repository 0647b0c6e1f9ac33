"""The hot path's cache: pre-serialized responses of GET /api/v1/prompts/..., per process.

An entry is the exact bytes and headers of a response, keyed by the raw request path and
query string, so a hit costs one dict lookup. Every entry belongs to the registry revision
it was built at. Each process polls the revision (every `poll_interval`, 0.2 s) and drops
everything when it moves, so a publish made through any process is served by all within
well under a second; a publish made through this process drops it at once.

Entries are only added while their revision is the newest this process has seen: a body
built from data read just before a publish is served once but never cached.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from starlette.types import Send

Headers = list[tuple[bytes, bytes]]
MAX_ENTRIES = 20_000  # then start over: (name, label) pairs are few; this bounds junk queries


@dataclass(slots=True)
class Entry:
    status: int
    body: bytes
    etag: bytes | None
    headers: Headers  # for the full response
    not_modified: Headers  # for a 304

    def matches(self, if_none_match: bytes) -> bool:
        """RFC 9110 If-None-Match: `*`, or a list of (weak or strong) tags, compared weakly."""
        if self.etag is None:
            return False
        if if_none_match == self.etag or if_none_match.strip() == b"*":
            return True
        wanted = self.etag.removeprefix(b"W/")
        return any(tag.strip().removeprefix(b"W/") == wanted for tag in if_none_match.split(b","))


def make_entry(status: int, body: bytes) -> Entry:
    etag = None
    headers: Headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 200:
        etag = b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'
        headers += [(b"etag", etag), (b"cache-control", b"no-cache")]
    not_modified: Headers = [(b"etag", etag or b""), (b"cache-control", b"no-cache")]
    return Entry(status, body, etag, headers, not_modified)


class ResponseCache:
    """Raw (path, query) -> Entry; only touched from the event loop thread."""

    def __init__(self) -> None:
        self.revision = -1
        self.entries: dict[tuple[str, bytes], Entry] = {}

    def reset(self, revision: int) -> None:
        self.entries = {}
        self.revision = revision

    def advance(self, revision: int) -> bool:
        """Adopt a revision read from the database; True when it moved (caches dropped)."""
        if revision == self.revision:
            return False
        self.reset(revision)
        return True

    def put(self, key: tuple[str, bytes], entry: Entry, revision: int) -> None:
        if revision > self.revision:
            self.reset(revision)
        if revision != self.revision:
            return
        if len(self.entries) >= MAX_ENTRIES:
            self.entries = {}
        self.entries[key] = entry


async def send_entry(entry: Entry, if_none_match: bytes | None, send: Send) -> None:
    if if_none_match is not None and entry.matches(if_none_match):
        await send({"type": "http.response.start", "status": 304, "headers": entry.not_modified})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": entry.status, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})
