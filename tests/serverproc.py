"""A real `promptrail serve` process on loopback, for tests that talk HTTP to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

# Ports for the servers tests start, below the kernel's ephemeral range (32768 and up on
# Linux), one block per xdist worker. A port the kernel hands out (bind to 0, close) can be
# handed to another worker's server a moment later: our server then fails to bind while
# the other answers our health check, and the test talks to the wrong server.
PORTS_FROM, PORTS_PER_WORKER = 20_000, 1_500
_next_port = [0]


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")[2:]
    first = PORTS_FROM + (int(worker) + 1 if worker.isdigit() else 0) * PORTS_PER_WORKER
    if not _next_port[0]:
        _next_port[0] = first + os.getpid() % PORTS_PER_WORKER  # a rerun starts elsewhere
    for _ in range(PORTS_PER_WORKER):
        port = _next_port[0]
        _next_port[0] = first + (port + 1 - first) % PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # still in use (or in TIME_WAIT by a listener that just stopped)
            return port
    raise RuntimeError(f"no free port in {first}-{first + PORTS_PER_WORKER - 1}")


class ServerProcess:
    """`promptrail serve` in a subprocess; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        db_url: str,
        *,
        port: int | None = None,
        auth: bool = False,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ):
        self.db_url = db_url
        self.port = port or free_port()
        self.auth = auth
        self.extra_args = extra_args or []
        self.env = env or {}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._log_start = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:  # slow on a loaded machine
        args = [
            sys.executable,
            "-m",
            "promptrail.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            self.db_url,
        ]
        if not self.auth:
            args.append("--no-auth")
        args += self.extra_args
        # Output goes to the log file, or to a temporary one, so a failed start can show it.
        self._log_file = (
            open(self.log_path, "a+b")  # noqa: SIM115 (closed in stop())
            if self.log_path is not None
            else tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        )
        self._log_start = self._log_file.tell()
        self.process = subprocess.Popen(
            args,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Unbuffered: what it printed is in the log when a failed start is reported.
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        try:
            return self._wait_healthy(timeout)
        except BaseException:  # a test's timeout too: leave no server running behind
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> ServerProcess:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self._output()
                self.stop()  # closes the log file
                raise RuntimeError(
                    f"server exited with {self.process.returncode} before answering; "
                    f"its output:\n{output}"
                )
            try:
                response = httpx.get(f"{self.url}/api/v1/health", timeout=0.5)
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return self
                last_error = f"health answered {response.status_code}: {response.text[:200]}"
            time.sleep(0.05)
        output = self._output()
        self.stop()
        raise RuntimeError(
            f"server on port {self.port} did not become healthy in {timeout}s; "
            f"last health check: {last_error}; its output:\n{output}"
        )

    def _output(self, limit: int = 4000) -> str:
        """What the process has written so far (the end of it), for error messages."""
        if self._log_file is None:
            return ""
        self._log_file.flush()
        self._log_file.seek(self._log_start)
        text = self._log_file.read().decode("utf-8", "replace")
        return text[-limit:] or "(nothing)"

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
