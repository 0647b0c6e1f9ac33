"""OTLP in, bad input: a clear error or what can be kept is stored; nothing stored is harmed."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from .conftest import MAX_BODY, OtelServer, new_span_id, new_trace_id
from .test_ingest import _json_request, _json_span, _post


def _protobuf(spans: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """An ExportTraceServiceRequest of (trace id, span id, parent id) spans, built with the
    generated classes as an exporter would."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for trace_id, span_id, parent in spans:
        span = scope.spans.add()
        span.trace_id, span.span_id, span.parent_span_id = trace_id, span_id, parent
        span.name = f"span {span_id.hex()}"
        span.start_time_unix_nano = 1_700_000_000_000_000_000
        span.end_time_unix_nano = 1_700_000_000_100_000_000
    return request.SerializeToString()


def _post_protobuf(otel_server: OtelServer, data: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        otel_server.url + "/v1/traces",
        content=data,
        headers={"content-type": "application/x-protobuf", **otel_server.basic, **headers},
        timeout=30,
    )


def _stored(otel_server: OtelServer, trace_id: str) -> Any:
    with otel_server.query() as http:
        response = http.get(f"/api/v1/traces/{trace_id}")
        return response.json() if response.status_code == 200 else response.status_code


def test_undecodable_bodies_get_a_clear_4xx_and_store_nothing(otel_server: OtelServer) -> None:
    trace_id = new_trace_id()
    kept = [_json_span(trace_id, new_span_id(), "kept", {"user.id": "u-kept"})]
    assert _post(otel_server, _json_request(kept)).status_code == 200
    before = otel_server.trace(trace_id, spans=1)

    cases = {
        "protobuf garbage": (b"\xff\xff\xff\xff not protobuf", "application/x-protobuf", 400),
        "json garbage": (b"{not json", "application/json", 400),
        "json not an object": (b"[1, 2]", "application/json", 400),
        "json resourceSpans of numbers": (b'{"resourceSpans": [1]}', "application/json", 400),
        "another media type": (b"<xml/>", "text/xml", 415),
    }
    for label, (body, media, status) in cases.items():
        response = _post(otel_server, body, media=media)
        assert response.status_code == status, (label, response.text)
        message = response.json()["message"]
        assert message, label
        if media == "application/x-protobuf":
            assert "not an OTLP protobuf trace request" in message
        if media == "text/xml":
            assert "application/x-protobuf" in message
    bad_gzip = httpx.post(
        otel_server.url + "/v1/traces",
        content=b"not gzip at all",
        headers={
            "content-type": "application/json",
            "content-encoding": "gzip",
            **otel_server.basic,
        },
    )
    assert bad_gzip.status_code == 400
    assert "not valid gzip" in bad_gzip.json()["message"]
    unauthenticated = httpx.post(
        otel_server.url + "/v1/traces", content=b"{}", headers={"content-type": "application/json"}
    )
    assert unauthenticated.status_code == 401
    with otel_server.query() as http:  # a read key cannot ingest
        assert http.post("/v1/traces", content=b"{}").status_code == 403
    assert _stored(otel_server, trace_id) == before


def test_spans_with_bad_ids_are_rejected_alone_as_a_partial_success(
    otel_server: OtelServer,
) -> None:
    trace_id = new_trace_id()
    good, child = bytes.fromhex(new_span_id()), bytes.fromhex(new_span_id())
    tid = bytes.fromhex(trace_id)
    data = _protobuf(
        [
            (tid, good, b""),
            (tid, child, good),
            (tid[:8], bytes.fromhex(new_span_id()), b""),  # a 64-bit trace id
            (tid, b"\x01\x02\x03", b""),  # a 3-byte span id
            (tid, bytes.fromhex(new_span_id()), b"\x01"),  # a 1-byte parent id
            (b"\x00" * 16, bytes.fromhex(new_span_id()), b""),  # the invalid all-zero trace id
        ]
    )
    response = _post_protobuf(otel_server, data)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    reply = ExportTraceServiceResponse.FromString(response.content)
    assert reply.partial_success.rejected_spans == 4
    message = reply.partial_success.error_message
    assert "4 spans rejected" in message
    assert "expected 16 bytes (32 hex digits)" in message
    assert "expected 8 bytes (16 hex digits)" in message
    trace = otel_server.trace(trace_id, spans=2)
    assert [o["depth"] for o in trace["observations"]] == [0, 1]

    # OTLP/JSON: the same answer in JSON
    bad = _json_span(trace_id, "abc", "short id", {})
    response = _post(otel_server, _json_request([bad]))
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == 1
    assert "span id 'abc'" in partial["errorMessage"]
    assert "spans[0]" in partial["errorMessage"]


def test_a_missing_parent_is_kept_as_a_link_and_joins_when_the_parent_arrives(
    otel_server: OtelServer,
) -> None:
    trace_id, parent, child = new_trace_id(), new_span_id(), new_span_id()
    early = [_json_span(trace_id, child, "child first", {}, parent=parent, start_ms=10)]
    assert _post(otel_server, _json_request(early)).status_code == 200
    alone = otel_server.trace(trace_id, spans=1)
    assert alone["observations"][0]["parent_id"] == parent
    assert alone["observations"][0]["depth"] == 0  # shown as a root until its parent comes
    late = [_json_span(trace_id, parent, "parent later", {"user.id": "late"})]
    assert _post(otel_server, _json_request(late)).status_code == 200
    joined = otel_server.trace(trace_id, spans=2)
    assert [(o["name"], o["depth"]) for o in joined["observations"]] == [
        ("parent later", 0),
        ("child first", 1),
    ]
    assert joined["name"] == "parent later"
    assert joined["user_id"] == "late"


def test_attributes_of_unexpected_types_are_coerced_or_kept(otel_server: OtelServer) -> None:
    trace_id, span_id = new_trace_id(), new_span_id()
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": "100",  # a count as a string: read as the number
        "gen_ai.usage.output_tokens": "many",  # not a count: kept as sent, not a usage
        "user.id": 12345,  # a number where text is expected
        "langfuse.observation.metadata": "{broken json",
        "langfuse.trace.tags": "a,b",  # a string where a list is expected
        "session.id": "s" * 500,  # longer than a name may be
    }
    raw = _json_span(trace_id, span_id, "odd", attributes)
    raw["attributes"].append(
        {
            "key": "nested",
            "value": {"kvlistValue": {"values": [{"key": "inner", "value": {"intValue": 7}}]}},
        }
    )
    raw["attributes"].append({"key": "no value"})
    raw["attributes"].append({"key": "bytes", "value": {"bytesValue": "AAEC"}})
    response = _post(otel_server, _json_request([raw]))
    assert response.status_code == 200, response.text
    assert "partialSuccess" not in response.json()
    trace = otel_server.trace(trace_id, spans=1)
    assert trace["user_id"] == "12345"
    assert trace["tags"] == ["a", "b"]
    assert trace["session_id"] == "s" * 200
    obs = trace["observations"][0]
    assert obs["usage"]["input"] == 100
    assert obs["usage"]["output"] == 0
    kept = obs["metadata"]["attributes"]
    assert kept["gen_ai.usage.output_tokens"] == "many"
    assert kept["nested"] == {"inner": 7}
    assert kept["no value"] is None
    assert kept["bytes"] == "AAEC"
    assert obs["metadata"]["metadata"] == "{broken json"


def test_a_batch_over_the_limits_gets_413_and_stores_nothing(otel_server: OtelServer) -> None:
    trace_id = new_trace_id()
    tid = bytes.fromhex(trace_id)
    too_many = _protobuf([(tid, i.to_bytes(8, "big"), b"") for i in range(1, 10_002)])
    assert len(too_many) < MAX_BODY
    response = _post_protobuf(otel_server, too_many)
    assert response.status_code == 413
    assert "10001 spans in one request; at most 10000" in response.json()["message"]

    big = json.dumps(
        _json_request([_json_span(trace_id, new_span_id(), "x" * 100, {"pad": "y" * MAX_BODY})])
    ).encode()
    response = _post(otel_server, gzip.compress(big), media="application/json")
    assert response.status_code == 400  # gzip bytes sent as plain JSON
    zipped = httpx.post(
        otel_server.url + "/v1/traces",
        content=gzip.compress(big),
        headers={
            "content-type": "application/json",
            "content-encoding": "gzip",
            **otel_server.basic,
        },
    )
    assert zipped.status_code == 413
    assert "larger than" in zipped.json()["message"]
    plain = _post(otel_server, big)
    assert plain.status_code == 413
    assert _stored(otel_server, trace_id) == 404
