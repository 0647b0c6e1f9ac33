"""A real `promptrail serve` process on loopback, for tests that talk HTTP to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        self._log_file: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
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
        stdout: object = subprocess.DEVNULL
        if self.log_path is not None:
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
            stdout = self._log_file
        self.process = subprocess.Popen(
            args,
            stdout=stdout,  # type: ignore[arg-type]
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()  # closes the log file
                raise RuntimeError(
                    f"server exited with {self.process.returncode} before answering"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server on port {self.port} did not become healthy in {timeout}s")

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
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
