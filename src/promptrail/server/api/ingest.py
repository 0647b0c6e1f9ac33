"""`POST /api/v1/ingest`: batches of trace, observation and score events from the tracer.

The body is JSON, gzip-compressed or not (`Content-Encoding: gzip`), in version 2 (the
SDK's compact records, `store/compact.py`) or version 1 (events). Each event is
validated alone: the answer lists `successes` and `errors` by event id, with status 200
when all were stored and 207 when some were refused, so one malformed event never costs
the rest. Everything valid is written in one transaction. A body over the server's size
limit (compressed or once decompressed) or over MAX_EVENTS events gets a 413 that says
so; the SDK then sends the batch in halves.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptrail.api.tracing import IngestBatch, IngestResult
from promptrail.errors import ApiProblem
from promptrail.server.auth import Principal, require_scope
from promptrail.server.errors import ERROR_RESPONSES
from promptrail.server.state import registry_of
from promptrail.store.compact import Invalid, parse_compact
from promptrail.store.ingest import Outcome, parse_body, parse_events, store_valid
from promptrail.store.prices import api_prices
from promptrail.store.pricing import PriceTable, file_prices, price_table

router = APIRouter(prefix="/api/v1", tags=["tracing"])
Ingest = Annotated[Principal, Depends(require_scope("ingest"))]
MAX_EVENTS = 10_000
PRICE_REFRESH = 30.0  # seconds between reloads of API-added prices (other processes add some)


class Pricing:
    """This process's price table: shipped + file (`PROMPTRAIL_PRICES`) + API-added ones."""

    def __init__(self, store: Any, extra_file: str | None = None):
        self.store = store
        self.file = list(file_prices(extra_file))
        self._table: PriceTable | None = None
        self._loaded = 0.0

    def table(self) -> PriceTable:
        """Called on a worker thread (it may read the database)."""
        if self._table is None or time.monotonic() - self._loaded > PRICE_REFRESH:
            with self.store.engine.connect() as conn:
                added = api_prices(conn)
            self._table = price_table(None, [*self.file, *added])
            self._loaded = time.monotonic()
        return self._table

    def invalidate(self) -> None:
        self._table = None


def pricing_of(request: Request) -> Pricing:
    state = request.app.state
    pricing = getattr(state, "pricing", None)
    if pricing is None:
        registry = registry_of(request)
        extra = getattr(registry.settings, "prices", None)  # `serve --prices FILE`
        pricing = state.pricing = Pricing(registry.store, extra)
    return pricing


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The request schema without `$defs` references, to embed it in openapi_extra."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline_refs(IngestBatch.model_json_schema())}},
        "description": "A batch of events; send it gzip-compressed with "
        "`Content-Encoding: gzip`. See docs/tracing.md.",
    }
}


def _decode(body: bytes, encoding: str | None, limit: int) -> bytes:
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding != "gzip":
        raise ApiProblem(
            415, "unsupported_media_type", f"Content-Encoding {encoding!r}: send gzip or nothing"
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ApiProblem(400, "invalid", f"the body is not valid gzip: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise ApiProblem(
            413,
            "too_large",
            f"the batch is larger than {limit} bytes once decompressed; send smaller batches "
            "(the promptrail SDK splits a batch in two on this answer)",
        )
    return data


def _parse(data: bytes) -> tuple[Outcome, list[Any]]:
    """Version 2 (`{"v": 2, ...}`, the SDK's compact records) or version 1 (`{"batch":
    [...]}`): the per-event result and the valid events."""
    if _COMPACT.match(data):
        doc = _load(data)
        if isinstance(doc, dict) and "v" in doc:
            count = sum(len(doc.get(k) or ()) for k in ("o", "t", "sc"))
            if count > MAX_EVENTS:
                raise _too_many(count)
            try:
                return parse_compact(doc)
            except Invalid as exc:
                raise ApiProblem(400, "invalid", str(exc)) from None
    parsed = parse_body(data) or parse_events(_events(data))  # all valid, or one by one
    if len(parsed[1]) > MAX_EVENTS:
        _events(data)  # answers 413 with the count
    return parsed


# A version-2 body starts with its version (the SDK writes it first); anything else is
# read as version 1, whose fast path validates the bytes directly.
_COMPACT = re.compile(rb'\s*\{\s*"v"\s*:')


def _load(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ApiProblem(400, "invalid", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiProblem(400, "invalid", "the body is nested too deeply to read") from None


def _too_many(count: int) -> ApiProblem:
    return ApiProblem(
        413,
        "too_large",
        f"{count} events in one batch; at most {MAX_EVENTS} are accepted: send smaller batches",
    )


def _events(data: bytes) -> list[Any]:
    doc = _load(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("batch"), list):
        raise ApiProblem(
            400, "invalid", 'expected a JSON object {"batch": [event, ...]}; see docs/tracing.md'
        )
    events: list[Any] = doc["batch"]
    if len(events) > MAX_EVENTS:
        raise _too_many(len(events))
    return events


@router.post(
    "/ingest",
    response_model=IngestResult,
    responses={
        **ERROR_RESPONSES,
        207: {"model": IngestResult, "description": "Some events were refused (see `errors`)."},
        415: ERROR_RESPONSES[400] | {"description": "A Content-Encoding other than gzip."},
        429: ERROR_RESPONSES[400] | {"description": "Over the ingest limit; see Retry-After."},
        503: ERROR_RESPONSES[400] | {"description": "The database is unreachable; retry."},
    },
    summary="Ingest a batch of trace, observation and score events",
    openapi_extra=_REQUEST_BODY,
)
async def ingest(request: Request, principal: Ingest) -> Response:
    registry = registry_of(request)
    registry.ingests.hit(str(principal.key_id))
    body = await request.body()
    pricing = pricing_of(request)

    def parse_and_store() -> Outcome:
        # No lock here: while one batch is written (SQLite's single writer waits on the
        # store's own lock, with the GIL released) the next one is being parsed.
        data = _decode(
            body, request.headers.get("content-encoding"), registry.settings.max_body_bytes
        )
        return store_valid(registry.store.engine, pricing.table(), *_parse(data))

    result = await run_in_threadpool(parse_and_store)
    return Response(
        result.to_json(),
        status_code=207 if result.errors else 200,
        media_type="application/json",
    )
