"""`POST /v1/traces` (and `/api/public/otel/v1/traces`, where Langfuse's exporters send):
OTLP/HTTP trace export, protobuf or JSON, gzip or not, with an `ingest` key.

The answer is OTLP's `ExportTraceServiceResponse` in the request's encoding: empty when
every span was stored, with `partial_success` (how many spans were rejected and why) when
some were not. A body that is not an OTLP request is a 400, a body over the size limit or
with more than MAX_SPANS spans a 413, an encoding other than gzip a 415; those carry the
server's usual JSON error. Spans are stored by the native ingest's writer (see
`store/otlp.py`), in one transaction per request.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptrail.api import otlp
from promptrail.errors import ApiProblem
from promptrail.server.api.ingest import Ingest, _decode, pricing_of
from promptrail.server.errors import ERROR_RESPONSES
from promptrail.server.state import registry_of
from promptrail.store.ingest import Outcome, store_valid
from promptrail.store.langfuse_datasets import experiment_traces_of, record_for_traces
from promptrail.store.otlp import resolve_prompts, to_events
from promptrail.store.otlp_wire import UndecodableBody, decode

router = APIRouter(tags=["opentelemetry"])

_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            otlp.PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            otlp.JSON: {"schema": {"type": "object"}},
        },
        "description": "An OTLP ExportTraceServiceRequest; gzip it with "
        "`Content-Encoding: gzip`. See docs/tracing.md.",
    }
}


def _response(media: str, rejected: int, message: str) -> Response:
    if media == otlp.JSON:
        body: dict[str, Any] = {}
        if rejected:
            body["partialSuccess"] = {"rejectedSpans": rejected, "errorMessage": message}
        return Response(json.dumps(body).encode(), media_type=otlp.JSON)
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    reply = ExportTraceServiceResponse()
    if rejected:
        reply.partial_success.rejected_spans = rejected
        reply.partial_success.error_message = message
    return Response(reply.SerializeToString(), media_type=otlp.PROTOBUF)


def _summary(problems: list[str]) -> str:
    shown = "; ".join(problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return f"{len(problems)} span{'s' if len(problems) != 1 else ''} rejected: {shown}{more}"


async def export_traces(request: Request, _: Ingest) -> Response:
    registry = registry_of(request)
    body = await request.body()
    content_type = request.headers.get("content-type")
    media = (content_type or otlp.PROTOBUF).split(";")[0].strip().lower()
    pricing = pricing_of(request)

    def decode_and_store() -> Response:
        data = _decode(
            body, request.headers.get("content-encoding"), registry.settings.max_body_bytes
        )
        try:
            decoded = decode(data, content_type)
        except ImportError:
            raise ApiProblem(
                501,
                "not_installed",
                "this server cannot read OTLP: install promptrail[otel] (opentelemetry-proto)",
            ) from None
        except UndecodableBody as exc:
            status = 415 if str(exc).startswith("Content-Type") else 400
            raise ApiProblem(status, "invalid", str(exc)) from None
        count = len(decoded.spans) + len(decoded.rejected)
        if count > otlp.MAX_SPANS:
            raise ApiProblem(
                413,
                "too_large",
                f"{count} spans in one request; at most {otlp.MAX_SPANS} are accepted: "
                "export smaller batches (BatchSpanProcessor's max_export_batch_size)",
            )
        events = to_events(decoded.spans)
        problems = list(decoded.rejected)
        if events:
            store = registry.store
            with store.engine.connect() as conn:
                resolve_prompts(conn, events)
            result = Outcome(successes=[{"id": e.id, "status": 201} for e in events])
            result = store_valid(store.engine, pricing.table(), result, events)
            # Langfuse SDK v5 experiments are known only from span attributes: keep their
            # eval runs current (server/api/langfuse/datasets.py).
            record_for_traces(store, experiment_traces_of(events))
            problems += [
                f"span {e.id}: {e.message}"
                for e in result.errors
                if e.id and not e.id.startswith("trace-")
            ]
        return _response(media, len(problems), _summary(problems) if problems else "")

    return await run_in_threadpool(decode_and_store)


for path in (otlp.TRACES_PATH, otlp.LANGFUSE_TRACES_PATH):
    router.add_api_route(
        path,
        export_traces,
        methods=["POST"],
        responses={
            **ERROR_RESPONSES,
            415: ERROR_RESPONSES[400] | {"description": "Not protobuf or JSON, or not gzip."},
        },
        summary="Ingest OTLP/HTTP traces (protobuf or JSON)",
        openapi_extra=_DOC,
        name=f"otlp_traces{path.replace('/', '_')}",
    )
