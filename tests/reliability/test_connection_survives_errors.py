"""After a 500 the keep-alive connection still answers the next request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from serverproc import free_port


@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[str]:
    """The real app under uvicorn on loopback, plus one page and one route that fail."""
    from promptrail.server.app import create_app
    from promptrail.server.settings import Settings

    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'r.db'}", auth=False))

    @app.get("/api/v1/broken")
    async def broken_api() -> None:
        raise RuntimeError("a bug in a route")

    @app.get("/broken")
    async def broken_page() -> None:
        raise RuntimeError("a bug in a page")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("path", ["/api/v1/broken", "/broken"])
def test_a_500_leaves_the_connection_usable(failing_server: str, path: str) -> None:
    with httpx.Client(base_url=failing_server, timeout=5) as http:
        assert http.get("/api/v1/health").status_code == 200
        for _ in range(3):
            answer = http.get(path)
            assert answer.status_code == 500
            assert "log" in answer.text  # the short message, no traceback
            assert "RuntimeError" not in answer.text
            assert http.get("/api/v1/health").status_code == 200
        pool = http._transport._pool  # type: ignore[attr-defined]
        assert len(pool.connections) == 1, "the server closed the connection after a 500"
