"""Preview publishes: a pull request's prompts under a throwaway label such as `pr-123`.

The registry keeps a preview's content apart from the immutable version line (a PR may
push other content under the same number later; main's publish decides what version N
is), so a preview never creates a version. By default only the prompts whose content the
registry does not have yet are previewed (a preview app asks for `pr-123`, and for
`production` where that label is missing); `all_prompts` labels every prompt. Closing
the PR removes the label.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from promptrail.api.registry import PromptState, PublishSource, RegistryState
from promptrail.constants import LATEST
from promptrail.errors import ProblemsFound, UsageError
from promptrail.gitops.plan import LabelChange, NewVersion, Plan
from promptrail.gitops.publish import (
    Progress,
    Published,
    Registry,
    load_prompts,
    send,
    source_from_env,
)
from promptrail.repo.promptfile import LoadedPrompt
from promptrail.repo.repository import Commit, HistoryEntry, PromptRepo
from promptrail.repo.spec import LABEL_RE


def check_preview_label(label: str, state: RegistryState) -> None:
    prefix = state.preview_prefix
    if not LABEL_RE.match(label) or label == LATEST:
        raise UsageError(
            f"{label!r} is not a valid label: lowercase letters, digits, `-`, `_`, `.` "
            "(e.g. pr-123)"
        )
    if not label.startswith(prefix) or label in state.protected_labels:
        raise UsageError(
            f"preview labels must start with {prefix!r} (the registry's preview prefix), "
            f"e.g. {prefix}123; {label!r} does not"
        )


def make_preview_plan(
    prompts: Mapping[str, LoadedPrompt],
    state: RegistryState,
    label: str,
    *,
    all_prompts: bool = False,
    unreadable: Collection[str] = (),
    history: Mapping[str, Sequence[HistoryEntry]] | None = None,
) -> Plan:
    """Point `label` at each changed prompt's content (or every prompt's), and off the rest.

    `history` (optional) names the commit that introduced each previewed content."""
    check_preview_label(label, state)
    plan = Plan(preview_label=label)
    for name in sorted(prompts):
        prompt = prompts[name]
        known = state.prompts.get(name) or PromptState()
        plan.prompts += 1
        have = known.previews.get(label)
        in_registry = known.versions.get(prompt.version) == prompt.hash
        if in_registry and not all_prompts:
            if label in known.labels:
                plan.labels.append(
                    LabelChange(
                        name,
                        label,
                        known.labels[label],
                        None,
                        "the registry already has this content: the branch no longer changes it",
                    )
                )
            continue
        if have is not None and (have.version, have.hash) == (prompt.version, prompt.hash):
            continue
        if in_registry:
            plan.expect.setdefault(name, {})[prompt.version] = prompt.hash
            reason = f"{prompt.path} is at version {prompt.version}, which the registry has"
        else:
            plan.versions.append(
                NewVersion(
                    name,
                    prompt.version,
                    prompt.hash,
                    prompt.spec.content(),
                    prompt.path,
                    origin_of(history, prompt),
                    f"preview content of {prompt.path} (kept apart from the version line)",
                )
            )
            reason = f"previews {prompt.path}"
        plan.labels.append(
            LabelChange(name, label, known.labels.get(label), prompt.version, reason)
        )
    skip = set(prompts) | set(unreadable)
    for name in sorted(set(state.prompts) - skip):
        known = state.prompts[name]
        if label in known.labels:
            plan.prompts += 1
            plan.labels.append(
                LabelChange(
                    name, label, known.labels[label], None, "prompt file deleted in this branch"
                )
            )
    return plan


def _lacks(state: RegistryState, prompt: LoadedPrompt) -> bool:
    known = state.prompts.get(prompt.name)
    return known is None or known.versions.get(prompt.version) != prompt.hash


def origin_of(
    history: Mapping[str, Sequence[HistoryEntry]] | None, prompt: LoadedPrompt
) -> Commit | None:
    for entry in (history or {}).get(prompt.name, ()):
        if entry.prompt is not None and entry.hash == prompt.hash:
            return entry.commit
    return None


def removal_plan(state: RegistryState, label: str) -> Plan:
    """Remove `label` from every prompt that carries it (the pull request was closed)."""
    check_preview_label(label, state)
    plan = Plan(preview_label=label)
    for name in sorted(state.prompts):
        known = state.prompts[name]
        if label in known.labels or label in known.previews:
            plan.prompts += 1
            version = known.labels.get(label)
            if version is None:
                version = known.previews[label].version
            plan.labels.append(LabelChange(name, label, version, None, "preview removed"))
    return plan


def publish_preview(
    repo: PromptRepo,
    registry: Registry,
    label: str,
    *,
    all_prompts: bool = False,
    dry_run: bool = False,
    source: PublishSource | None = None,
    progress: Progress | None = None,
) -> Published:
    state = registry.state()
    check_preview_label(label, state)
    prompts = load_prompts(repo, progress)
    unreadable = {p.name for p in prompts.problems if p.name}
    # The commits that introduced the previewed content: only for prompts the registry lacks.
    new = [n for n, p in prompts.prompts.items() if _lacks(state, p)]
    history = repo.history(new) if new and repo.has_commits() else {}
    plan = make_preview_plan(
        prompts.prompts,
        state,
        label,
        all_prompts=all_prompts,
        unreadable=unreadable,
        history=history,
    )
    plan.problems[:0] = prompts.problems
    return _send(repo, registry, plan, dry_run, source)


def remove_preview(
    repo: PromptRepo | None,
    registry: Registry,
    label: str,
    *,
    dry_run: bool = False,
    source: PublishSource | None = None,
) -> Published:
    plan = removal_plan(registry.state(), label)
    return _send(repo, registry, plan, dry_run, source)


def _send(
    repo: PromptRepo | None,
    registry: Registry,
    plan: Plan,
    dry_run: bool,
    source: PublishSource | None,
) -> Published:
    if plan.problems:
        raise ProblemsFound(plan.problems)
    if source is None:
        source = source_from_env(repo) if repo is not None and repo.is_git else PublishSource()
    if plan.empty:
        return Published(plan, None, source)
    return Published(plan, send(registry, plan.to_request(source, dry_run=dry_run)), source)
