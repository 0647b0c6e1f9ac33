"""Applying a publish: checked whole, then written in one transaction, or not at all.

`check()` refuses a request that contradicts itself (400) without touching the database;
`apply()` takes the write lock, compares the request's preconditions with what the
registry holds now (409 with every difference listed), and writes versions, label moves,
previews, history and the publish record together. Identical content and labels already
in place are no-ops; a publish that would change nothing writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptrail.api.registry import (
    MAX_VERSION,
    LabelMove,
    PublishRequest,
    PublishResult,
    VersionUpload,
)
from promptrail.constants import PREVIEW_PREFIX, PRODUCTION
from promptrail.content import content_of
from promptrail.errors import InvalidRequest, summarize
from promptrail.repo.spec import LABEL_RE, content_hash, is_valid_name
from promptrail.store import registry, runs
from promptrail.store.changes import Current

if TYPE_CHECKING:
    from promptrail.store import Store

METADATA_FIELDS = {"tags", "description"}


@dataclass(frozen=True)
class PublishPolicy:
    """The server's rules about labels: which are protected, which are previews."""

    protected_labels: tuple[str, ...] = (PRODUCTION,)
    preview_prefix: str = PREVIEW_PREFIX

    def is_protected(self, label: str) -> bool:
        return label in self.protected_labels

    def is_preview(self, label: str) -> bool:
        return bool(self.preview_prefix) and label.startswith(self.preview_prefix)

    def impersonates(self, label: str) -> str | None:
        """The protected label `label` would pass for, were it allowed, or None.

        `production.`, `Production`-like spellings and `pr-production` read as production
        on a page or in a log but move without `deploy`: such names are refused.
        """
        if self.is_protected(label):
            return None
        bare = _skeleton(
            label.removeprefix(self.preview_prefix) if self.is_preview(label) else label
        )
        for protected in self.protected_labels:
            if bare == _skeleton(protected):
                return protected
        return None


def _skeleton(label: str) -> str:
    return "".join(c for c in label.lower() if c not in "-_.")


@dataclass
class Checked:
    """A request that is consistent in itself, and what it needs to be allowed."""

    request: PublishRequest
    preview: bool
    protected: list[LabelMove] = field(default_factory=list)  # moves that need `deploy`
    uploads: dict[tuple[str, int], VersionUpload] = field(default_factory=dict)


def check(request: PublishRequest, policy: PublishPolicy) -> Checked:
    """Refuse (InvalidRequest) what no registry state could make valid."""
    problems: list[dict[str, Any]] = []

    def refuse(message: str, **where: Any) -> None:
        problems.append({"message": message, **where})

    uploads: dict[tuple[str, int], VersionUpload] = {}
    for up in request.versions:
        _check_upload(up, refuse)
        seen = uploads.get((up.name, up.version))
        if seen is not None and seen.hash != up.hash:
            refuse(
                f"{up.name!r} version {up.version} is uploaded twice with other content",
                name=up.name,
                version=up.version,
            )
        uploads[(up.name, up.version)] = up
    moves: set[tuple[str, str]] = set()
    for move in request.labels:
        _check_move(move, refuse)
        lookalike = policy.impersonates(move.label)
        if lookalike is not None:
            refuse(
                f"label {move.label!r} of {move.name!r} looks like the protected label "
                f"{lookalike!r} but would not be protected: choose a name that does not",
                name=move.name,
                label=move.label,
            )
        if (move.name, move.label) in moves:
            refuse(
                f"label {move.label!r} of {move.name!r} is moved twice in one publish",
                name=move.name,
                label=move.label,
            )
        moves.add((move.name, move.label))
    for name, fields in request.metadata.items():
        _check_metadata(name, fields, refuse)
    for name, pinned in request.expect_versions.items():
        if not is_valid_name(name) or any(not 1 <= v <= MAX_VERSION for v in pinned):
            refuse(f"expect_versions: invalid entry for {name!r}", name=name)

    dataset_names: set[str] = set()
    for upload in request.datasets:
        problems.extend(runs.check_dataset(upload))
        if upload.name in dataset_names:
            refuse(f"dataset {upload.name!r} is uploaded twice in one publish", dataset=upload.name)
        dataset_names.add(upload.name)

    preview_moves = [m for m in request.labels if policy.is_preview(m.label)]
    preview = bool(preview_moves) and len(preview_moves) == len(request.labels)
    if preview_moves and not preview:
        refuse(
            f"preview labels ({policy.preview_prefix}...) and other labels cannot move in one "
            "publish: publish the preview on its own (`publish --preview-label`)"
        )
    if preview:
        targets = {(m.name, m.version) for m in request.labels if m.version is not None}
        for key in uploads:
            if key not in targets:
                refuse(
                    f"{key[0]!r} version {key[1]} is uploaded in a preview publish but no "
                    "preview label points at it; a preview never creates versions",
                    name=key[0],
                    version=key[1],
                )
        if request.metadata:
            refuse("a preview publish cannot change tags or descriptions (that is main's job)")
    if problems:
        raise InvalidRequest(summarize("publish refused, nothing was changed", problems), problems)
    protected = [] if preview else [m for m in request.labels if policy.is_protected(m.label)]
    return Checked(request, preview, protected, uploads)


def _check_upload(up: VersionUpload, refuse: Any) -> None:
    where = {"name": up.name, "version": up.version}
    if not is_valid_name(up.name):
        refuse(f"invalid prompt name {up.name!r}", **where)
        return
    if not 1 <= up.version <= MAX_VERSION:
        refuse(f"{up.name!r}: version must be a whole number from 1, got {up.version}", **where)
    if up.type == "text" and (up.prompt is None or up.messages is not None):
        refuse(
            f"{up.name!r} version {up.version}: a text version has `prompt`, not `messages`",
            **where,
        )
    elif up.type == "chat" and (up.messages is None or up.prompt is not None):
        refuse(
            f"{up.name!r} version {up.version}: a chat version has `messages`, not `prompt`",
            **where,
        )
    else:
        digest = content_hash(content_of(up.type, up.prompt, up.messages, up.config))
        if digest != up.hash:
            refuse(
                f"{up.name!r} version {up.version}: the hash sent ({up.hash[:12]}) is not the "
                f"hash of the content ({digest[:12]}); is the CLI the same release as the server?",
                **where,
            )


def _check_move(move: LabelMove, refuse: Any) -> None:
    where = {"name": move.name, "label": move.label}
    if not is_valid_name(move.name):
        refuse(f"invalid prompt name {move.name!r}", **where)
    if not LABEL_RE.match(move.label):
        refuse(
            f"invalid label {move.label!r}: lowercase letters, digits, '-', '_' and '.', "
            "at most 63 characters",
            **where,
        )
    for value in (move.version, move.expected):
        if value is not None and not 1 <= value <= MAX_VERSION:
            refuse(f"label {move.label!r} of {move.name!r}: bad version {value}", **where)


def _check_metadata(name: str, fields: dict[str, Any], refuse: Any) -> None:
    if not is_valid_name(name):
        refuse(f"metadata: invalid prompt name {name!r}", name=name)
    unknown = set(fields) - METADATA_FIELDS
    if unknown:
        refuse(
            f"metadata of {name!r}: unknown fields {sorted(unknown)} (tags, description)", name=name
        )
    tags = fields.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        refuse(f"metadata of {name!r}: tags must be a list of strings", name=name)
    description = fields.get("description")
    if description is not None and not isinstance(description, str):
        refuse(f"metadata of {name!r}: description must be a string or null", name=name)


def apply(
    store: Store,
    request: PublishRequest,
    policy: PublishPolicy,
    *,
    key_id: int | None = None,
    checked: Checked | None = None,
) -> PublishResult:
    if checked is None or checked.request is not request:
        checked = check(request, policy)
    with store.write(bump=False) as conn:
        current = Current.load(conn, checked)
        changes = current.diff(checked)
        if request.datasets:  # (a store on an older schema has no dataset table yet)
            changes.datasets = runs.plan_datasets(conn, request.datasets)
        if changes.empty:
            return PublishResult(publish_id=None, unchanged=True, revision=registry.revision(conn))
        result = changes.result()
        if request.dry_run:
            return result
        result.publish_id = changes.write(conn, request, key_id)
        registry.bump_revision(conn)
        result.revision = registry.revision(conn)
        return result
