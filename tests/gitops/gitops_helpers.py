"""Helpers for the GitOps tests: read the registry over HTTP, run plan/publish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from conftest import CliResult, GitRepo, run_cli
from promptrail.api.registry import PublishRequest, RegistryState
from promptrail.repo.repository import PromptRepo


@dataclass
class Api:
    """What the registry serves, read over HTTP as an application or a script would."""

    url: str
    key: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers=self._headers(), timeout=10, **kwargs
        )

    def get(self, name: str, label: str | None = None, version: int | None = None) -> Any:
        """The served body, or None on 404."""
        params: dict[str, Any] = {}
        if label is not None:
            params["label"] = label
        if version is not None:
            params["version"] = version
        response = self.request("GET", f"/prompts/{quote(name)}", params=params)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def served(self, name: str, label: str = "production") -> int | None:
        body = self.get(name, label=label)
        return None if body is None else int(body["version"])

    def state(self) -> RegistryState:
        response = self.request("GET", "/state")
        response.raise_for_status()
        return RegistryState.model_validate(response.json())

    def versions(self, name: str) -> list[dict[str, Any]]:
        response = self.request("GET", f"/versions/{quote(name)}")
        response.raise_for_status()
        return list(response.json()["versions"])

    def label_events(self, name: str) -> list[dict[str, Any]]:
        response = self.request("GET", f"/history/{quote(name)}")
        response.raise_for_status()
        return list(response.json()["events"])

    def publish(self, request: PublishRequest) -> httpx.Response:
        return self.request("POST", "/publish", json=request.model_dump(mode="json"))


def publish(repo: GitRepo, url: str, *args: str) -> CliResult:
    return run_cli("publish", "--registry", url, *args, cwd=repo.path)


def plan(repo: GitRepo, url: str, *args: str) -> CliResult:
    return run_cli("plan", "--registry", url, *args, cwd=repo.path)


def text(version: int, body: str, labels: str = "[production]", extra: str = "") -> str:
    return f'version: {version}\nprompt: "{body}"\nlabels: {labels}\n{extra}'


def file_hash(repo: GitRepo, name: str) -> str:
    return PromptRepo(repo.path).load(names=[name])[name].hash


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result
