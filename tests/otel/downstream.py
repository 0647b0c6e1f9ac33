"""A second process for the propagation test: an HTTP service whose handler is traced with
promptrail and continues the caller's trace from the `traceparent` header.

Run as `python downstream.py PORT`; it exports to PROMPTRAIL_URL with PROMPTRAIL_API_KEY,
prints "ready" once listening, and flushes its tracer before answering each request.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import promptrail
from promptrail.tracing import continue_trace, get_current_trace_id, observe


@observe(name="downstream handler")
def handle(path: str) -> dict[str, Any]:
    with promptrail.tracing.start_span("downstream work"):
        pass
    return {"path": path, "trace_id": get_current_trace_id()}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        with continue_trace(dict(self.headers.items())):
            answer = handle(self.path)
        promptrail.tracing.flush(5)
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
