"""The registry's request and response bodies: what the CLI, the server and scripts agree on.

A publish is planned against a `RegistryState` and sent as one `PublishRequest`; the
server applies it in one transaction only if the state still matches its preconditions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from promptrail.api.eval import DatasetUpload
from promptrail.api.inputs import Storable
from promptrail.constants import PREVIEW_PREFIX, PRODUCTION
from promptrail.content import content_of

__all__ = [
    "ApiError",
    "Health",
    "KeyCreate",
    "KeyCreated",
    "KeyInfo",
    "KeyList",
    "LabelEvent",
    "LabelHistory",
    "LabelMove",
    "PreviewState",
    "PromptList",
    "PromptState",
    "PromptSummary",
    "PublishRequest",
    "PublishResult",
    "PublishSource",
    "PublishedVersion",
    "RegistryState",
    "VersionInfo",
    "VersionList",
    "VersionUpload",
]


MAX_VERSION = 2**31 - 1  # an INTEGER column on PostgreSQL
# Documented here, enforced by the store with a message that says what to do (400).
Version = Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_VERSION})]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiError(_Model):
    """Every error the API returns: a code for scripts and a message for people."""

    error: str  # e.g. "conflict", "not_found", "unauthorized", "invalid"
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class PublishedVersion(_Model):
    """What the registry serves for one (name, version): the documented shape."""

    name: str
    version: int
    type: Literal["text", "chat"]
    prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    hash: str

    def content(self) -> dict[str, Any]:
        return content_of(self.type, self.prompt, self.messages, self.config)


class PreviewState(_Model):
    """A preview label (`pr-123`): the version number and content hash it serves."""

    version: int
    hash: str


class PromptState(_Model):
    """What the registry holds for one prompt, as much as a plan needs.

    Preview labels appear in `labels` (label -> version) like any label, and again in
    `previews` with the hash of the content they serve: a preview's content lives apart
    from the immutable versions, so its version number may be missing from `versions` or
    carry other content there. `latest` is never listed (the server serves the highest
    version as `latest`) unless a publish set it explicitly.
    """

    versions: dict[int, str] = Field(default_factory=dict)  # version -> content hash
    labels: dict[str, int] = Field(default_factory=dict)  # label -> version (no `latest`)
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    previews: dict[str, PreviewState] = Field(default_factory=dict)  # preview label -> content


class RegistryState(_Model):
    prompts: dict[str, PromptState] = Field(default_factory=dict)
    protected_labels: list[str] = Field(default_factory=lambda: [PRODUCTION])
    # Labels starting with it are previews, outside the declared set.
    preview_prefix: str = PREVIEW_PREFIX
    datasets: dict[str, list[str]] = Field(default_factory=dict)  # name -> every hash stored


def is_web_url(value: str | None) -> bool:
    """An http(s) URL with a host: the only kind stored or shown as a link (no `javascript:`)."""
    if not value or any(ord(c) < 33 for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _web_url(value: str | None) -> str | None:
    if value is not None and not is_web_url(value):
        raise ValueError("must be an http:// or https:// URL (nothing else is shown as a link)")
    return value


WebUrl = Annotated[str | None, AfterValidator(_web_url)]


class PublishSource(_Model):
    """Where a publish came from; recorded with every version and label move it makes."""

    commit: str | None = None
    ref: str | None = None
    author: str | None = None
    message: str | None = None
    ci_run_url: WebUrl = None
    repository_url: WebUrl = None


class VersionUpload(_Model):
    name: str
    version: Version
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
    version: Version | None
    expected: Version | None = None


class PublishRequest(_Model, Storable):
    """One publish, applied whole or not at all.

    A *preview publish* is one whose label moves all carry the preview prefix (`pr-`): its
    `versions` are the content those labels serve and never enter the immutable version
    line (a PR may reuse a number with other content on its next push; main's publish
    decides what version N finally is). In a preview publish every upload must be the
    target of one of its label moves, and `metadata` must be empty. A label move without
    an upload points the preview label at the registry's existing version. Removing the
    label (`version: null`) deletes the preview. Preview and other label moves cannot be
    mixed in one publish.
    """

    source: PublishSource = Field(default_factory=PublishSource)
    versions: list[VersionUpload] = Field(default_factory=list)
    labels: list[LabelMove] = Field(default_factory=list)
    # Prompt-level metadata; changes need no new version.
    metadata: dict[str, dict[str, Any]] = Field(default_factory=dict)  # name -> {tags, description}
    # Versions that must already exist with this hash (a label pinned to an old version).
    expect_versions: dict[str, dict[Version, str]] = Field(default_factory=dict)
    # Dataset contents the registry does not hold yet; stored in the same transaction.
    datasets: list[DatasetUpload] = Field(default_factory=list)
    dry_run: StrictBool = False


class PublishResult(_Model):
    publish_id: int | None  # None for a dry run or a no-op
    created: list[dict[str, Any]] = Field(default_factory=list)  # {name, version, hash}
    moved: list[dict[str, Any]] = Field(default_factory=list)  # {name, label, from, to}
    unchanged: bool = False
    metadata: list[str] = Field(default_factory=list)  # names whose tags/description changed
    revision: int | None = None  # the registry revision after this publish
    datasets: list[dict[str, Any]] = Field(default_factory=list)  # {name, version, hash} stored


# -- read side: listings, history, keys ------------------------------------------------------


class PromptSummary(_Model):
    name: str
    labels: dict[str, int] = Field(default_factory=dict)  # includes previews, not `latest`
    latest_version: int | None = None
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    path: str | None = None
    updated_at: str  # ISO 8601, last version, label move or metadata change


class PromptList(_Model):
    prompts: list[PromptSummary] = Field(default_factory=list)


class VersionInfo(_Model):
    """One immutable version and where it came from (no content: GET it by version)."""

    version: int
    hash: str
    type: Literal["text", "chat"]
    labels: list[str] = Field(default_factory=list)
    commit: str | None = None
    author: str | None = None
    message: str | None = None
    committed_at: str | None = None
    ci_run_url: str | None = None
    publish_id: int | None = None
    created_at: str


class VersionList(_Model):
    name: str
    versions: list[VersionInfo] = Field(default_factory=list)  # newest first


class LabelEvent(_Model):
    """One label move: `from_version` None is an add, `to_version` None a removal."""

    label: str
    from_version: int | None = None
    to_version: int | None = None
    at: str
    publish_id: int | None = None
    commit: str | None = None
    author: str | None = None
    ci_run_url: str | None = None


class LabelHistory(_Model):
    name: str
    events: list[LabelEvent] = Field(default_factory=list)  # newest first


Scope = Literal["read", "publish", "deploy", "ingest", "admin"]


class KeyCreate(_Model, Storable):
    scopes: list[Scope] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=500)
    pair: bool = False  # also make a public key: the pair HTTP Basic sends (pk-…:sk-…)


class KeyInfo(_Model):
    id: int
    prefix: str  # the key's first characters, enough to recognise it
    scopes: list[str]
    description: str | None = None
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None
    public_key: str | None = None  # a pair's public half (pk-pr-…), not secret


class KeyCreated(KeyInfo):
    key: str  # the secret itself, shown once; only its hash is stored


class KeyList(_Model):
    keys: list[KeyInfo] = Field(default_factory=list)


class Health(_Model):
    status: Literal["ok"] = "ok"
    version: str
    database: str  # "sqlite" | "postgresql"
    schema_revision: str | None = None
    auth: bool
