"""A VersionUpload built by hand with the content hash the registry checks.

Used by the registry and UI tests and by `bench/` (which puts `tests/` on sys.path).
"""

from __future__ import annotations

from typing import Any

from promptrail.api.registry import VersionUpload
from promptrail.repo.spec import content_hash, content_of


def upload(
    name: str,
    version: int,
    *,
    prompt: str | None = None,
    messages: list[dict[str, str]] | None = None,
    config: dict[str, Any] | None = None,
    **fields: Any,
) -> VersionUpload:
    """A text version (`prompt=`) or a chat one (`messages=`); `fields`: commit, path..."""
    kind = "text" if messages is None else "chat"
    config = config or {}
    return VersionUpload(
        name=name,
        version=version,
        type=kind,
        prompt=prompt,
        messages=messages,
        config=config,
        hash=content_hash(content_of(kind, prompt, messages, config)),
        **fields,
    )
