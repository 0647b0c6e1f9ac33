"""W3C trace context: one trace across processes.

`inject(headers)` adds a `traceparent` header naming the current observation (or the
active OpenTelemetry span); on the other side `continue_trace(headers)` makes the
observations started inside it children of that remote span, in the same trace:

    # client                                  # server handler
    httpx.post(url, headers=inject())         with continue_trace(request.headers):
                                                  answer(question)   # @observe'd

Any W3C-speaking system (an OpenTelemetry SDK, a collector, a proxy) reads and writes the
same header, so promptrail's spans and theirs share one trace id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

from promptrail.tracing.context import current, outside_parent, remote, span_hex, trace_hex

TRACEPARENT = "traceparent"
_FORMAT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def traceparent() -> str | None:
    """The `traceparent` value for the current observation, or None outside any trace."""
    obs = current.get()
    if obs is not None:
        flags = "01" if obs.trace.sampled else "00"
        return f"00-{trace_hex(obs.trace.id)}-{span_hex(obs.id)}-{flags}"
    outside = outside_parent()
    if outside is not None:
        return f"00-{trace_hex(outside[0])}-{span_hex(outside[1])}-01"
    return None


def inject(headers: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """`headers` (a new dict if None) with `traceparent` set when there is a current trace."""
    carrier: MutableMapping[str, str] = {} if headers is None else headers
    value = traceparent()
    if value is not None:
        carrier[TRACEPARENT] = value
    return carrier


def extract(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """(trace id, parent span id) from a `traceparent` header; None if absent or invalid."""
    raw = headers.get(TRACEPARENT)
    if raw is None:
        raw = next((v for k, v in headers.items() if k.lower() == TRACEPARENT), None)
    if not isinstance(raw, str):
        return None
    match = _FORMAT.match(raw.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, _, rest = match.groups()
    # Version ff is forbidden; version 00 has nothing after the flags.
    if version == "ff" or (version == "00" and rest):
        return None
    trace, span = int(trace_id, 16), int(span_id, 16)
    if not trace or not span:
        return None
    return trace, span


@contextmanager
def continue_trace(headers: Mapping[str, str]) -> Iterator[tuple[int, int] | None]:
    """Observations started inside (with no promptrail parent) join the trace that
    `headers`' `traceparent` names; without a valid one, they start traces of their own."""
    parent = extract(headers)
    token = remote.set(parent)
    try:
        yield parent
    finally:
        remote.reset(token)
