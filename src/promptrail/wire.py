"""The registry's request and response bodies: what the CLI, the server and scripts agree on.

A publish is planned against a `RegistryState` and sent as one `PublishRequest`; the
server applies it in one transaction only if the state still matches its preconditions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .spec import PublishedVersion

__all__ = [
    "ApiError",
    "LabelMove",
    "PromptState",
    "PublishRequest",
    "PublishResult",
    "PublishSource",
    "PublishedVersion",
    "RegistryState",
    "VersionUpload",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiError(_Model):
    """Every error the API returns: a code for scripts and a message for people."""

    error: str  # e.g. "conflict", "not_found", "unauthorized", "invalid"
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class PromptState(_Model):
    """What the registry holds for one prompt, as much as a plan needs."""

    versions: dict[int, str] = Field(default_factory=dict)  # version -> content hash
    labels: dict[str, int] = Field(default_factory=dict)  # label -> version (no `latest`)
    tags: list[str] = Field(default_factory=list)
    description: str | None = None


class RegistryState(_Model):
    prompts: dict[str, PromptState] = Field(default_factory=dict)
    protected_labels: list[str] = Field(default_factory=lambda: ["production"])
    preview_prefix: str = "pr-"  # labels starting with it are previews, outside the declared set


class PublishSource(_Model):
    """Where a publish came from; recorded with every version and label move it makes."""

    commit: str | None = None
    ref: str | None = None
    author: str | None = None
    message: str | None = None
    ci_run_url: str | None = None
    repository_url: str | None = None


class VersionUpload(_Model):
    name: str
    version: int
    type: Literal["text", "chat"]
    prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    hash: str
    # The commit that introduced this content (from git history); falls back to the source.
    commit: str | None = None
    author: str | None = None
    message: str | None = None
    committed_at: str | None = None
    path: str | None = None  # file path in the repository, for "edit in git" links


class LabelMove(_Model):
    """Set `label` of `name` to `version`, or remove it (`version: null`).

    `expected` is the version the label is on in the state the plan was made against
    (null: the label did not exist). The server refuses the whole publish with 409 when
    any label is elsewhere now.
    """

    name: str
    label: str
    version: int | None
    expected: int | None = None


class PublishRequest(_Model):
    source: PublishSource = Field(default_factory=PublishSource)
    versions: list[VersionUpload] = Field(default_factory=list)
    labels: list[LabelMove] = Field(default_factory=list)
    # Prompt-level metadata; changes need no new version.
    metadata: dict[str, dict[str, Any]] = Field(default_factory=dict)  # name -> {tags, description}
    # Versions that must already exist with this hash (a label pinned to an old version).
    expect_versions: dict[str, dict[int, str]] = Field(default_factory=dict)
    dry_run: bool = False


class PublishResult(_Model):
    publish_id: int | None  # None for a dry run or a no-op
    created: list[dict[str, Any]] = Field(default_factory=list)  # {name, version, hash}
    moved: list[dict[str, Any]] = Field(default_factory=list)  # {name, label, from, to}
    unchanged: bool = False
