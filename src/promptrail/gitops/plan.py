"""What a publish would change: the prompts in git compared with the registry's state.

Pure: every input is data (parsed prompt files, their git history, a `RegistryState`), so
tests and the CLI call `make_plan` directly. Reading git and asking the registry happen in
`publish.py`. Git history is needed only for prompts whose plan cannot be made from the
registry alone (`history_needed`): a no-op publish of 10,000 prompts parses none of it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptrail.api.eval import DatasetUpload
from promptrail.api.registry import (
    LabelMove,
    PromptState,
    PublishRequest,
    PublishSource,
    RegistryState,
    VersionUpload,
)
from promptrail.constants import LATEST
from promptrail.errors import Problem
from promptrail.repo.git import Commit
from promptrail.repo.promptfile import LoadedPrompt
from promptrail.repo.repository import HistoryEntry, last_with_version, versions_in_history


@dataclass(frozen=True)
class NewVersion:
    """A version the registry lacks: the file's current one, or an older one a label pins."""

    name: str
    version: int
    hash: str
    content: dict[str, Any]  # type + prompt/messages + config
    path: str
    origin: Commit | None  # the commit that introduced this content; None if uncommitted
    reason: str

    def upload(self) -> VersionUpload:
        origin = self.origin
        return VersionUpload(
            name=self.name,
            version=self.version,
            type=self.content["type"],
            prompt=self.content.get("prompt"),
            messages=self.content.get("messages"),
            config=self.content.get("config") or {},
            hash=self.hash,
            commit=origin.sha if origin else None,
            author=origin.author if origin else None,
            message=origin.message if origin else None,
            committed_at=origin.date if origin else None,
            path=self.path,
        )


@dataclass(frozen=True)
class LabelChange:
    """Put `label` on `to` (None: remove it); `previous` is where the registry has it now."""

    name: str
    label: str
    previous: int | None
    to: int | None
    reason: str

    @property
    def kind(self) -> str:
        if self.to is None:
            return "remove"
        return "add" if self.previous is None else "move"


@dataclass(frozen=True)
class MetadataChange:
    name: str
    field: str  # "tags" | "description"
    old: Any
    new: Any


@dataclass(frozen=True)
class Note:
    """Something the plan leaves alone on purpose, or a drift it cannot repair."""

    name: str
    message: str


@dataclass
class Plan:
    """Versions to create, labels to add/move/remove and metadata to set, each with a reason."""

    versions: list[NewVersion] = field(default_factory=list)
    labels: list[LabelChange] = field(default_factory=list)
    metadata: list[MetadataChange] = field(default_factory=list)
    # Versions that must already be in the registry with this hash (targets of label moves).
    expect: dict[str, dict[int, str]] = field(default_factory=dict)
    kept: list[Note] = field(default_factory=list)  # deleted files whose labels stay
    drift: list[Note] = field(default_factory=list)  # registry-only versions a publish cannot undo
    problems: list[Problem] = field(default_factory=list)  # refuse to publish while any
    prompts: int = 0  # how many prompts were compared
    preview_label: str | None = None
    # Dataset contents the registry has not stored yet (a preview publish sends none).
    datasets: list[DatasetUpload] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Publishing would change nothing."""
        return not (self.versions or self.labels or self.metadata or self.datasets)

    @property
    def in_sync(self) -> bool:
        """The registry holds exactly what git declares (what `plan --check` asks)."""
        return self.empty and not self.kept and not self.drift and not self.problems

    def changed_names(self) -> list[str]:
        names = {v.name for v in self.versions} | {c.name for c in self.labels}
        return sorted(names | {m.name for m in self.metadata})

    def to_request(
        self, source: PublishSource | None = None, dry_run: bool = False
    ) -> PublishRequest:
        metadata: dict[str, dict[str, Any]] = {}
        for change in self.metadata:
            metadata.setdefault(change.name, {})[change.field] = change.new
        return PublishRequest(
            source=source or PublishSource(),
            versions=[v.upload() for v in self.versions],
            labels=[
                LabelMove(name=c.name, label=c.label, version=c.to, expected=c.previous)
                for c in self.labels
            ],
            metadata=metadata,
            expect_versions={name: dict(v) for name, v in self.expect.items()},
            datasets=[] if self.preview_label else list(self.datasets),
            dry_run=dry_run,
        )

    def render_text(self, quiet: bool = False) -> str:
        from promptrail.gitops.planview import render_text

        return render_text(self, quiet)

    def as_dict(self) -> dict[str, Any]:
        from promptrail.gitops.planview import as_dict

        return as_dict(self)


# -- deciding what git history is needed ---------------------------------------------------


def history_needed(
    prompts: Mapping[str, LoadedPrompt],
    state: RegistryState,
    *,
    thorough: bool = False,
    names: Collection[str] | None = None,
) -> set[str]:
    """Prompts whose plan needs their git history.

    A version the registry lacks needs the commit that introduced it (and, for a pinned
    older version, its content). `thorough` (plan --check) also looks up every registry
    version other than the ones the file uses, to find versions published outside git;
    otherwise only versions newer than the file's are looked up (cheap: rare).
    """
    needed: set[str] = set()
    for name, prompt in prompts.items():
        if names is not None and name not in names:
            continue
        known = state.prompts.get(name)
        versions = known.versions if known else {}
        used = {prompt.version, *_label_versions(prompt).values()}
        if any(v not in versions for v in used):
            needed.add(name)
            continue
        others = [v for v in versions if v not in used]
        if others and (thorough or max(others) > prompt.version):
            needed.add(name)
    return needed


def _label_versions(prompt: LoadedPrompt) -> dict[str, int]:
    return {k: v for k, v in prompt.spec.label_map().items() if k != LATEST}


# -- the plan ------------------------------------------------------------------------------


def make_plan(
    prompts: Mapping[str, LoadedPrompt],
    state: RegistryState,
    *,
    history: Mapping[str, Sequence[HistoryEntry]] | None = None,
    prune: bool = False,
    names: Collection[str] | None = None,
    unreadable: Collection[str] = (),
) -> Plan:
    """Compare the prompt files with the registry.

    `history` holds the git history of (at least) the prompts `history_needed` named.
    `names` limits the plan to those prompts (files and registry entries alike).
    `unreadable` are prompts whose files exist but do not parse: never taken as deleted.
    """
    history = history or {}
    plan = Plan()
    for name in sorted(prompts):
        if names is not None and name not in names:
            continue
        plan.prompts += 1
        _plan_prompt(plan, prompts[name], state.prompts.get(name), history.get(name), state)
    skip = set(prompts) | set(unreadable)
    for name in sorted(state.prompts):
        if name in skip or (names is not None and name not in names):
            continue
        plan.prompts += 1
        _plan_deleted(plan, name, state.prompts[name], state.preview_prefix, prune)
    return plan


def _plan_prompt(
    plan: Plan,
    prompt: LoadedPrompt,
    known: PromptState | None,
    history: Sequence[HistoryEntry] | None,
    state: RegistryState,
) -> None:
    known = known or PromptState()
    declared = _declared_labels(plan, prompt, state.preview_prefix)
    new = _plan_versions(plan, prompt, known, history, declared)
    _plan_labels(plan, prompt, known, declared, new, state.preview_prefix)
    spec = prompt.spec
    if list(spec.tags) != list(known.tags):  # metadata: no version needed
        plan.metadata.append(MetadataChange(prompt.name, "tags", list(known.tags), list(spec.tags)))
    if spec.description != known.description:
        plan.metadata.append(
            MetadataChange(prompt.name, "description", known.description, spec.description)
        )
    if history is not None:
        _plan_drift(plan, prompt, known, history, declared)


def _plan_versions(
    plan: Plan,
    prompt: LoadedPrompt,
    known: PromptState,
    history: Sequence[HistoryEntry] | None,
    declared: dict[str, int],
) -> list[NewVersion]:
    """The file's current version and the older ones its labels pin, where missing."""
    name, path = prompt.name, prompt.path
    new: list[NewVersion] = []
    existing = known.versions.get(prompt.version)
    if existing is None:
        new.append(
            NewVersion(
                name,
                prompt.version,
                prompt.hash,
                prompt.spec.content(),
                path,
                _origin(history, prompt.version, prompt.hash),
                f"new content in {path}:{prompt.line('version')}",
            )
        )
    elif existing != prompt.hash:
        plan.problems.append(_immutable_problem(prompt, existing, known))

    for version in sorted({v for v in declared.values() if v != prompt.version}):
        label = next(lb for lb, v in declared.items() if v == version)
        line = prompt.line("labels", label)
        if version in known.versions:
            plan.expect.setdefault(name, {})[version] = known.versions[version]
            continue
        # The content last committed under that number (drafts before it do not count).
        entry = last_with_version(history or (), version)
        if entry is None or entry.prompt is None:
            plan.problems.append(
                Problem(
                    f"label {label!r} pins version {version}, which neither the registry nor "
                    f"the git history of {path} has (pin a version that exists, or publish "
                    "from a clone with full history: fetch-depth: 0)",
                    path,
                    line,
                    "pin",
                    name,
                )
            )
            continue
        new.append(
            NewVersion(
                name,
                version,
                entry.prompt.hash,
                entry.prompt.spec.content(),
                path,
                entry.commit,
                f"pinned by label {label!r} ({path}:{line}); content from git "
                f"{entry.commit.sha[:7]}",
            )
        )
    new.sort(key=lambda v: v.version)
    plan.versions.extend(new)
    return new


def _plan_labels(
    plan: Plan,
    prompt: LoadedPrompt,
    known: PromptState,
    declared: dict[str, int],
    new: list[NewVersion],
    preview_prefix: str,
) -> None:
    """Exactly the declared labels, each on its version; previews are not ours."""
    name, path = prompt.name, prompt.path
    for label, version in sorted(declared.items()):
        current = known.labels.get(label)
        if current == version:
            continue
        reason = f"declared in {path}:{_label_line(prompt, label)}"
        plan.labels.append(LabelChange(name, label, current, version, reason))
        if version in known.versions and known.versions[version] == prompt.hash:
            plan.expect.setdefault(name, {})[version] = prompt.hash
    for label, version in sorted(known.labels.items()):
        if label in declared or label.startswith(preview_prefix) or label == LATEST:
            continue
        plan.labels.append(LabelChange(name, label, version, None, f"no longer declared in {path}"))

    # `latest` is the file's version. The registry serves its highest version as `latest`
    # unless told otherwise, so it is set explicitly only while the file is below that
    # (after a revert), and handed back once the file is the highest again.
    highest = max([*known.versions, *(v.version for v in new)], default=prompt.version)
    want = prompt.version if prompt.version < highest else None
    have = known.labels.get(LATEST)
    if want != have:
        reason = (
            f"{path} is at version {prompt.version}, below the registry's highest ({highest})"
            if want is not None
            else f"{path} is at the highest version again: `latest` follows it"
        )
        plan.labels.append(LabelChange(name, LATEST, have, want, reason))


def _plan_drift(
    plan: Plan,
    prompt: LoadedPrompt,
    known: PromptState,
    history: Sequence[HistoryEntry],
    declared: dict[str, int],
) -> None:
    """Versions in the registry that git never had: published outside git."""
    in_git = versions_in_history(history)
    used = {prompt.version, *declared.values()}
    for version, digest in sorted(known.versions.items()):
        if version in used:
            continue
        if version not in in_git:
            message = (
                f"version {version} is in the registry but not in the git history of "
                f"{prompt.path} (published outside git?)"
            )
        elif in_git[version] != digest:
            message = (
                f"the registry's version {version} has other content than version {version} "
                f"in the git history of {prompt.path}"
            )
        else:
            continue
        plan.drift.append(Note(prompt.name, message))


def _declared_labels(plan: Plan, prompt: LoadedPrompt, preview_prefix: str) -> dict[str, int]:
    declared: dict[str, int] = {}
    for label, version in prompt.spec.label_map().items():
        line = _label_line(prompt, label)
        if label == LATEST:
            plan.problems.append(
                Problem(
                    "`latest` is automatic (it is the file's `version`); remove it from `labels`",
                    prompt.path,
                    line,
                    "label",
                    prompt.name,
                )
            )
        elif preview_prefix and label.startswith(preview_prefix):
            plan.problems.append(
                Problem(
                    f"label {label!r} starts with {preview_prefix!r}, the registry's prefix for "
                    "preview labels (`publish --preview-label`); rename it",
                    prompt.path,
                    line,
                    "label",
                    prompt.name,
                )
            )
        else:
            declared[label] = version
    return declared


def _label_line(prompt: LoadedPrompt, label: str) -> int:
    labels = prompt.spec.labels
    if isinstance(labels, list):
        return (
            prompt.line("labels", labels.index(label)) if label in labels else prompt.line("labels")
        )
    return prompt.line("labels", label)


def _immutable_problem(prompt: LoadedPrompt, existing: str, known: PromptState) -> Problem:
    highest = max([prompt.version, *known.versions])
    return Problem(
        f"version {prompt.version} of {prompt.name!r} is already published with other content "
        f"(registry {existing[:12]}, file {prompt.hash[:12]}); versions are immutable: run "
        f"`promptrail version --registry URL` to bump it (to {highest + 1} or above), commit, "
        "and publish again",
        prompt.path,
        prompt.line("version"),
        "immutable",
        prompt.name,
    )


def _origin(history: Sequence[HistoryEntry] | None, version: int, digest: str) -> Commit | None:
    for entry in history or ():
        if entry.prompt is not None and entry.version == version and entry.hash == digest:
            return entry.commit
    return None


def _plan_deleted(
    plan: Plan, name: str, known: PromptState, preview_prefix: str, prune: bool
) -> None:
    labels = {
        label: version
        for label, version in sorted(known.labels.items())
        if not label.startswith(preview_prefix) and label != LATEST
    }
    if prune:  # an explicit `latest` (left by a revert) goes too
        for label, version in sorted(known.labels.items()):
            if label in labels or label == LATEST:
                plan.labels.append(
                    LabelChange(name, label, version, None, "prompt file deleted (--prune)")
                )
    elif labels:
        shown = ", ".join(f"{label} (v{version})" for label, version in labels.items())
        plan.kept.append(Note(name, f"kept: {shown}: file deleted, pass --prune to remove"))


# -- simulating a publish (history replay, dry runs) -------------------------------------


def apply_request(state: RegistryState, request: PublishRequest) -> RegistryState:
    """The state the registry would be in after `request` (assumed accepted)."""
    result = state.model_copy(deep=True)
    for upload in request.versions:
        result.prompts.setdefault(upload.name, PromptState()).versions[upload.version] = upload.hash
    for move in request.labels:
        labels = result.prompts.setdefault(move.name, PromptState()).labels
        if move.version is None:
            labels.pop(move.label, None)
        else:
            labels[move.label] = move.version
    for name, fields in request.metadata.items():
        entry = result.prompts.setdefault(name, PromptState())
        if "tags" in fields:
            entry.tags = list(fields["tags"])
        if "description" in fields:
            entry.description = fields["description"]
    return result
