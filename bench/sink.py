"""A local HTTP server in its own process that answers 200 to anything and counts POSTs.

`GET /count` answers how many POSTs came in so far (a bench checks that a disabled
tracer sent nothing).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

SINK = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    posts = 0
    def _ok(self):
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        if self.command == "POST":
            H.posts += 1
        body = b'{"successes": [], "errors": []}'
        if self.path == "/count":
            body = str(H.posts).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_PUT = do_GET = _ok
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


@contextlib.contextmanager
def sink() -> Iterator[str]:
    """A local HTTP server in its own process that answers 200 to anything."""
    proc = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


def posts(url: str) -> int:
    import httpx

    return int(httpx.get(f"{url}/count").text)
