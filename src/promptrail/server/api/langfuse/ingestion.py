"""`POST /api/public/ingestion`: Langfuse's legacy batch endpoint, for SDKs before OTLP.

Each event is translated to promptrail's ingest format (`api/langfuse.native_event`) and
stored through the same path as `POST /api/v1/ingest`; the answer is always 207 with a
result per event, as Langfuse answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptrail.api.langfuse import native_event
from promptrail.server.api.ingest import _decode, _events, pricing_of
from promptrail.server.api.langfuse.common import PREFIX, TAGS, Ingester
from promptrail.server.state import registry_of
from promptrail.store.ingest import Outcome, parse_events, store_valid

router = APIRouter(prefix=PREFIX, tags=TAGS)


@router.post("/ingestion", summary="Langfuse's legacy batch ingestion (207, one result per event)")
async def ingestion(request: Request, _: Ingester) -> Response:
    registry, pricing = registry_of(request), pricing_of(request)
    body = await request.body()

    def work() -> Outcome:
        data = _decode(
            body, request.headers.get("content-encoding"), registry.settings.max_body_bytes
        )
        native: list[Any] = []
        logs: list[dict[str, Any]] = []
        for event in _events(data):
            translated = native_event(event)
            if translated is None:
                logs.append({"id": event.get("id"), "status": 201})
            else:
                native.append(translated)
        result, valid = parse_events(native)
        stored = store_valid(registry.store.engine, pricing.table(), result, valid)
        stored.successes += logs
        return stored

    result = await run_in_threadpool(work)
    return Response(result.to_json(), status_code=207, media_type="application/json")
