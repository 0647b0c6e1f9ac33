"""Helpers for the Langfuse compatibility tests: example prompts and running the SDK."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kit import request
from promptrail.api.client import RegistryClient
from promptrail.api.registry import VersionUpload
from serverproc import ServerProcess
from uploads import upload


@dataclass
class LangfuseServer:
    proc: ServerProcess
    public_key: str
    secret_key: str
    admin_key: str

    @property
    def url(self) -> str:
        return self.proc.url

    def client(self, *, bearer: bool = False) -> httpx.Client:
        if bearer:
            auth = f"Bearer {self.admin_key}"
        else:
            pair = f"{self.public_key}:{self.secret_key}".encode()
            auth = "Basic " + base64.b64encode(pair).decode()
        return httpx.Client(base_url=self.url, timeout=10, headers={"authorization": auth})


SCENARIOS = Path(__file__).with_name("sdk_scenarios.py")
SMALL = {"model": "gpt-4o-mini"}
TRIAGE_CONFIG = {"model": "gpt-4o-mini", "temperature": 0}
TRIAGE = [
    {"role": "system", "content": "You triage support tickets for {{product}}."},
    {"role": "placeholder", "name": "history"},
    {"role": "user", "content": "{{ticket}}"},
]


def publish_examples(url: str, api_key: str | None = None) -> None:
    """summarize v1 (production) and v2 (staging), support/triage v1 chat (production),
    each with the commit message and date git would have recorded."""

    def made(name: str, version: int, day: int, **content: Any) -> VersionUpload:
        return upload(
            name,
            version,
            message=f"{name}: version {version}",
            committed_at=f"2026-01-0{day}T09:00:00Z",
            path=f"prompts/{name}.yaml",
            **content,
        )

    with RegistryClient(url, api_key=api_key) as client:
        client.publish(
            request(
                [
                    made("summarize", 1, 1, prompt="Summarize: {{text}}", config=SMALL),
                    made("summarize", 2, 3, prompt="Summarize for busy readers: {{text}}"),
                    made("support/triage", 1, 2, messages=TRIAGE, config=TRIAGE_CONFIG),
                ],
                [
                    ("summarize", "production", 1, None),
                    ("summarize", "staging", 2, None),
                    ("support/triage", "production", 1, None),
                ],
                metadata={"summarize": {"tags": ["internal"]}},
            )
        )


def run_sdk(server: LangfuseServer, scenario: str, *args: str) -> dict[str, Any]:
    """Run one scenario of sdk_scenarios.py in a fresh interpreter against `server`."""
    env = {
        **os.environ,
        "LANGFUSE_HOST": server.url,
        "LANGFUSE_BASE_URL": server.url,
        "LANGFUSE_PUBLIC_KEY": server.public_key,
        "LANGFUSE_SECRET_KEY": server.secret_key,
        "LANGFUSE_FLUSH_INTERVAL": "0.1",
    }
    # Another SDK line (an unpacked wheel) instead of the installed one: the suite then
    # runs the same Langfuse code on it (docs/langfuse.md, "SDK versions").
    other = os.environ.get("PROMPTRAIL_TEST_LANGFUSE_PATH")
    if other:
        env["PYTHONPATH"] = os.pathsep.join([other, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), scenario, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from {scenario}: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    result["_stderr"] = done.stderr
    return result
