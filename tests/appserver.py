"""The registry app (`create_app`) running inside the test process.

`AppServer` serves one app on its own event loop in a thread: over an httpx ASGI
transport (`transport()`, no socket) for API tests, and by uvicorn on a loopback port
(`url`) for code that only takes an address (the CLI run in-process, the tracer's
exporter, the runtime client). Both reach the same app, its caches and its database.
Starting one takes milliseconds; a `promptrail serve` process spends a second or more
importing. Tests about processes (ports, signals, workers, crashes, `serve` itself) keep
`serverproc.ServerProcess`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import uvicorn

from promptrail.server.app import RegistryApp, create_app
from promptrail.server.settings import Settings
from serverproc import free_port


class _Server(uvicorn.Server):
    """uvicorn that remembers its loop, so requests can be handed to it from other threads."""

    loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)


class AppServer:
    """`create_app(settings)` on a loopback port and an ASGI transport; a context manager."""

    def __init__(
        self,
        db_url: str,
        *,
        auth: bool = False,
        max_body_bytes: int | None = None,
        port: int | None = None,
        **settings: Any,
    ):
        self.db_url = db_url
        self.settings = settings  # further Settings fields, e.g. auth_failure_limit=0
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        self.port = port or free_port()
        self.app: RegistryApp | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> AppServer:
        # Settings from these arguments alone, as `serve --no-auth --db URL` would make them.
        settings = Settings.from_env(
            {},
            db_url=self.db_url,
            auth=self.auth,
            max_body_bytes=self.max_body_bytes,
            **self.settings,
        )
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="on",
            log_level="warning",
            access_log=False,
            log_config=None,
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=1,  # then in-flight requests are cancelled
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._run, name=f"app-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(
                    f"the in-process server on port {self.port} stopped before serving: "
                    f"{self._failure!r}"
                ) from self._failure
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the in-process server on port {self.port} did not start")
            self._thread.join(0.005)
        return self

    def _run(self) -> None:
        assert self._server is not None
        try:
            self._server.run()
        except BaseException as exc:  # reported by start()
            self._failure = exc
        if not self._server.started and self._failure is None:
            self._failure = RuntimeError("uvicorn exited (see the log above: startup failed)")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._thread = None

    def transport(self) -> httpx.BaseTransport:
        """A sync httpx transport into the app, without a socket."""
        loop = self._server.loop if self._server is not None else None
        if loop is None or self.app is None:
            raise RuntimeError("the in-process server is not started")
        return _LoopTransport(httpx.ASGITransport(app=self.app), loop)

    def http(self, **kwargs: Any) -> httpx.Client:
        """An httpx client of the app over the ASGI transport."""
        return httpx.Client(transport=self.transport(), base_url=self.url, **kwargs)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _LoopTransport(httpx.BaseTransport):
    """A sync transport that runs httpx's ASGI transport on the server's own event loop."""

    def __init__(self, asgi: httpx.ASGITransport, loop: asyncio.AbstractEventLoop):
        self._asgi = asgi
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(forwarded)
            content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return response.status_code, response.headers.raw, content

        status, headers, content = asyncio.run_coroutine_threadsafe(send(), self._loop).result()
        return httpx.Response(status, headers=headers, content=content, request=request)
