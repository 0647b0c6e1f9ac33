"""Building publish bodies by hand (the GitOps tests build them from git instead)."""

from __future__ import annotations

from typing import Any

from promptrail.api.client import RegistryClient
from promptrail.api.registry import LabelMove, PublishRequest, PublishSource, VersionUpload
from uploads import upload


def text_version(name: str, version: int, text: str, **config: Any) -> VersionUpload:
    return upload(name, version, prompt=text, config=config, path=f"prompts/{name}.yaml")


def chat_version(
    name: str, version: int, messages: list[dict[str, str]], **config: Any
) -> VersionUpload:
    return upload(name, version, messages=messages, config=config)


def request(
    versions: list[VersionUpload] = (),  # type: ignore[assignment]
    moves: list[tuple[str, str, int | None, int | None]] = (),  # type: ignore[assignment]
    **fields: Any,
) -> PublishRequest:
    """A PublishRequest; `moves` are (name, label, version, expected)."""
    return PublishRequest(
        source=fields.pop(
            "source", PublishSource(commit="a" * 40, author="Ada", ci_run_url="https://ci/1")
        ),
        versions=list(versions),
        labels=[LabelMove(name=n, label=lb, version=v, expected=e) for n, lb, v, e in moves],
        **fields,
    )


def publish_text(
    client: RegistryClient,
    name: str,
    version: int,
    text: str,
    labels: dict[str, int | None] | None = None,
) -> Any:
    """Publish `text` as `version` and put `labels` on it (expected: where they are now)."""
    state = client.state([name]).prompts.get(name)
    current = state.labels if state else {}
    moves = [
        (name, label, version if target is None else target, current.get(label))
        for label, target in (labels or {}).items()
    ]
    return client.publish(request([text_version(name, version, text)], moves))
