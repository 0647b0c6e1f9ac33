"""A real registry server for the client's tests, a fault proxy in front of it, and helpers."""

from __future__ import annotations

import itertools
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from promptrail.api.registry import LabelMove, PublishRequest
from promptrail.repo.spec import content_hash, content_of
from serverproc import ServerProcess
from uploads import upload

from .faultproxy import FaultProxy

_names = itertools.count(1)


def in_forked_child(check: Callable[[], bool], seconds: float = 20) -> None:
    """Run `check` in a forked child; fail unless it returns True within `seconds`.

    The child sends back why it failed (False, or its traceback) through a pipe.
    """
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status and the pipe
        os.close(reading)
        try:
            passed = check()
            report = "" if passed else f"check() returned {passed!r}"
        except BaseException:
            passed, report = False, traceback.format_exc()
        os.write(writing, report.encode()[-8000:])
        os._exit(0 if passed else 1)
    os.close(writing)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                report = os.read(reading, 10_000).decode(errors="replace")
                assert os.waitstatus_to_exitcode(status) == 0, f"in the forked child: {report}"
                return
            time.sleep(0.01)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail(f"the forked child hung for {seconds}s")
    finally:
        os.close(reading)


@dataclass
class Registry:
    """The server under test, with a way to publish prompts straight to it."""

    url: str

    def publish(
        self,
        name: str,
        version: int,
        prompt: str | None = None,
        *,
        messages: list[dict[str, str]] | None = None,
        labels: dict[str, int | None] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        """Upload `version` (unless the registry has it) and move `labels` (default: production)."""
        state = httpx.get(f"{self.url}/api/v1/state", params={"names": name}).json()
        current = state["prompts"].get(name, {"versions": {}, "labels": {}})
        uploads = []
        if str(version) not in current["versions"] and (prompt is not None or messages):
            uploads.append(upload(name, version, prompt=prompt, messages=messages, config=config))
        moves = [
            LabelMove(name=name, label=label, version=target, expected=current["labels"].get(label))
            for label, target in (labels if labels is not None else {"production": version}).items()
        ]
        request = PublishRequest(versions=uploads, labels=moves)
        response = httpx.post(
            f"{self.url}/api/v1/publish",
            content=request.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("registry")
    with ServerProcess(f"sqlite:///{folder / 'registry.db'}", log_path=folder / "server.log") as s:
        yield Registry(s.url)


@pytest.fixture
def proxy(registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy(registry.url) as running:
        yield running


@pytest.fixture
def name() -> str:
    """A prompt name no other test uses (the server lives for the whole module)."""
    return f"t/prompt-{next(_names)}"


@pytest.fixture
def snapshot_of(tmp_path: Path):
    """Write a snapshot holding one text prompt version under `production`."""
    import json

    def write(name: str, version: int, text: str) -> Path:
        data = {
            "name": name,
            "version": version,
            "type": "text",
            "prompt": text,
            "config": {},
            "labels": ["production"],
            "tags": [],
            "hash": content_hash(content_of("text", text, None, {})),
        }
        path = tmp_path / "prompts.snapshot.json"
        document = {
            "format": "promptrail-snapshot/1",
            "prompts": {
                name: {"labels": {"production": version}, "versions": {str(version): data}}
            },
        }
        path.write_text(json.dumps(document))
        return path

    return write
