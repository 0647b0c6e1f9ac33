"""A version's content and its hash: stdlib only, so the runtime client can use it too.

Content is `type` + `prompt`/`messages` + `config`; the hash is sha256 of its canonical
JSON, so YAML style and key order drop out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any


def content_of(
    type_: str,
    prompt: str | None,
    messages: Iterable[Mapping[str, Any]] | None,
    config: Mapping[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "config": dict(config or {})}
    if type_ == "chat":
        body["messages"] = [dict(m) for m in messages or ()]
    else:
        body["prompt"] = prompt or ""
    return body


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a version's content: YAML style and key order drop out."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()
