"""What changed between two refs, prompt by prompt, in terms a reviewer cares about.

Only files whose git blob differs are parsed, so a diff among 10,000 prompts costs about
as much as the handful that changed. For each changed prompt: the text diff (or one per
chat message, matched by index), config changes (DeepDiff), label moves including the
implied `latest`, variables and placeholders added or removed, metadata changes, and
whether callers of `production` break (it now needs a variable they do not pass, or the
label is gone). Rendering lives in `diffview`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from promptrail.constants import LATEST, PRODUCTION
from promptrail.errors import Problem, TemplateError
from promptrail.gitops.versioning import VersionHistory
from promptrail.repo.promptfile import LoadedPrompt
from promptrail.repo.repository import PromptRepo
from promptrail.repo.spec import PLACEHOLDER
from promptrail.template import chat_variables, variables_of


@dataclass
class Change:
    """One config key or label: `change` is added, removed or changed/moved."""

    key: str
    change: str
    old: Any = None
    new: Any = None


@dataclass
class MessageDiff:
    index: int
    change: str  # added | removed | changed
    old_role: str | None
    new_role: str | None
    diff: str  # unified diff of the message (role line and content)


@dataclass
class PromptDiff:
    name: str
    path: str
    status: str  # added | removed | changed
    old_version: int | None = None
    new_version: int | None = None
    old_type: str | None = None
    new_type: str | None = None
    content_changed: bool = False
    text_diff: str = ""  # unified diff of `prompt:` (text prompts)
    messages: list[MessageDiff] = field(default_factory=list)
    config: list[Change] = field(default_factory=list)
    labels: list[Change] = field(default_factory=list)
    variables_added: list[str] = field(default_factory=list)
    variables_removed: list[str] = field(default_factory=list)
    placeholders_added: list[str] = field(default_factory=list)
    placeholders_removed: list[str] = field(default_factory=list)
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    description: tuple[str | None, str | None] | None = None
    breaking: list[str] = field(default_factory=list)
    error: str | None = None  # the file does not parse on one side
    evals_diff: str = ""  # unified diff of the `evals:` block (not content: no version bump)

    @property
    def is_breaking(self) -> bool:
        return bool(self.breaking)


@dataclass
class DatasetDiff:
    """A dataset file's change, item by item (by id)."""

    name: str
    path: str
    status: str  # added | removed | changed
    old_hash: str | None = None
    new_hash: str | None = None
    items_added: list[str] = field(default_factory=list)
    items_removed: list[str] = field(default_factory=list)
    items_changed: list[str] = field(default_factory=list)
    item_count: int = 0  # on the new side (the old one for a removed dataset)


@dataclass
class RepoDiff:
    base: str
    head: str | None  # None: the working tree
    prompts: list[PromptDiff] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    datasets: list[DatasetDiff] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for p in self.prompts if p.status == status)

    @property
    def breaking(self) -> list[PromptDiff]:
        return [p for p in self.prompts if p.is_breaking]


def diff_refs(repo: PromptRepo, base: str, head: str | None = None) -> RepoDiff:
    """Compare the prompts at `base` with those at `head` (None: the working tree)."""
    repo.resolve(base)
    if head is not None:
        repo.resolve(head)
    added, removed, modified = repo.changed(base, head)
    before = repo.load(base, names=removed | modified)
    after = repo.load(head, names=added | modified)
    result = RepoDiff(base, head)
    result.problems = [p for p in after.problems if p.name in added | modified]
    old_paths = dict(repo.index(base)[0]) if removed - set(before.prompts) else {}
    histories = _Histories(repo, base, head)
    for name in sorted(added | removed | modified):
        old, new = before.prompts.get(name), after.prompts.get(name)
        if (name in modified or name in added) and new is None:
            path = next((p.file for p in result.problems if p.name == name and p.file), name)
            status = "added" if name in added else "changed"
            result.prompts.append(PromptDiff(name, path, status, error=_why(after, name)))
            continue
        if name in removed:
            path = old.path if old else old_paths[name].path
            item = PromptDiff(name, path, "removed", old_version=old.version if old else None)
            if old is not None:
                item.labels = _label_changes(_labels(old), {})
                item.breaking = _breaking(name, old, None, histories)
            result.prompts.append(item)
            continue
        assert new is not None
        changed = compare(old, new, histories)
        if changed is not None:
            changed.status = "added" if name in added else "changed"
            result.prompts.append(changed)
    result.datasets = dataset_changes(repo, base, head)
    return result


def dataset_changes(repo: PromptRepo, base: str, head: str | None) -> list[DatasetDiff]:
    from promptrail.repo.datasets import load_datasets

    before, after = load_datasets(repo, base).datasets, load_datasets(repo, head).datasets
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is not None and new is not None and old.hash == new.hash:
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        shown = new or old
        assert shown is not None
        old_hash = old.hash if old is not None else None
        new_hash = new.hash if new is not None else None
        item = DatasetDiff(name, shown.path, status, old_hash, new_hash)
        item.item_count = len(shown.items)
        old_items = {i.id: i for i in old.items} if old else {}
        new_items = {i.id: i for i in new.items} if new else {}
        item.items_added = [i for i in new_items if i not in old_items]
        item.items_removed = [i for i in old_items if i not in new_items]
        item.items_changed = [
            i for i in new_items if i in old_items and new_items[i] != old_items[i]
        ]
        changes.append(item)
    return changes


def _why(loaded: Any, name: str) -> str:
    reasons = [str(p) for p in loaded.problems if p.name == name]
    return "; ".join(reasons) or "does not parse"


def compare(
    old: LoadedPrompt | None, new: LoadedPrompt, histories: _Histories | None = None
) -> PromptDiff | None:
    """The semantic difference of one prompt; None when only comments or layout changed."""
    item = PromptDiff(new.name, new.path, "added" if old is None else "changed")
    item.new_version, item.new_type = new.version, new.spec.type
    if old is not None:
        item.old_version, item.old_type = old.version, old.spec.type
    item.content_changed = old is None or old.hash != new.hash
    if item.content_changed:
        _content_changes(item, old, new)
    item.labels = _label_changes(_labels(old) if old else {}, _labels(new))
    old_tags, new_tags = (old.spec.tags if old else []), new.spec.tags
    item.tags_added = [t for t in new_tags if t not in old_tags]
    item.tags_removed = [t for t in old_tags if t not in new_tags]
    old_description = old.spec.description if old else None
    if old is not None and old_description != new.spec.description:
        item.description = (old_description, new.spec.description)
    if old is not None:
        item.breaking = _breaking(new.name, old, new, histories)
    old_evals = [e.model_dump(exclude_defaults=True) for e in old.spec.evals] if old else []
    new_evals = [e.model_dump(exclude_defaults=True) for e in new.spec.evals]
    if old_evals != new_evals:
        item.evals_diff = unified(_as_text(old_evals), _as_text(new_evals), f"{new.path} evals")
    changed = (
        item.evals_diff
        or item.content_changed
        or item.labels
        or item.tags_added
        or item.tags_removed
        or item.description
        or item.old_version != item.new_version
    )
    return item if changed else None


def _content_changes(item: PromptDiff, old: LoadedPrompt | None, new: LoadedPrompt) -> None:
    a = old.spec if old else None
    b = new.spec
    old_text = a.prompt if a and a.type == "text" else None
    new_text = b.prompt if b.type == "text" else None
    if old_text != new_text:
        item.text_diff = unified(old_text, new_text, "prompt", old is not None)
    old_messages = (a.messages_as_dicts() or []) if a else []
    item.messages = _message_changes(old_messages, b.messages_as_dicts() or [])
    item.config = config_changes(a.config if a else {}, b.config)
    old_vars, old_slots = variables(old) if old else ([], [])
    new_vars, new_slots = variables(new)
    item.variables_added = [v for v in new_vars if v not in old_vars]
    item.variables_removed = [v for v in old_vars if v not in new_vars]
    item.placeholders_added = [v for v in new_slots if v not in old_slots]
    item.placeholders_removed = [v for v in old_slots if v not in new_slots]


def _as_text(evals: list[dict[str, Any]]) -> str | None:
    return json.dumps(evals, indent=2, sort_keys=True, ensure_ascii=False) if evals else None


def unified(old: str | None, new: str | None, label: str, existed: bool = True) -> str:
    """A unified diff of two texts (None: absent), without trailing newlines on lines."""
    a = old.splitlines() if old is not None else []
    b = new.splitlines() if new is not None else []
    lines = difflib.unified_diff(
        a,
        b,
        f"a/{label}" if existed and old is not None else "/dev/null",
        f"b/{label}" if new is not None else "/dev/null",
        lineterm="",
        n=3,
    )
    return "\n".join(lines)


def _message_text(message: dict[str, str] | None) -> str | None:
    if message is None:
        return None
    if message.get("role") == PLACEHOLDER:
        return f"[placeholder: {message.get('name')}]"
    return f"[{message.get('role')}]\n{message.get('content', '')}"


def _message_changes(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[MessageDiff]:
    changes = []
    for index in range(max(len(old), len(new))):
        a = old[index] if index < len(old) else None
        b = new[index] if index < len(new) else None
        if a == b:
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        old_role, new_role = (a or {}).get("role"), (b or {}).get("role")
        label = f"messages[{index}]"
        text = unified(_message_text(a), _message_text(b), label, a is not None)
        changes.append(MessageDiff(index, change, old_role, new_role, text))
    return changes


def variables(prompt: LoadedPrompt) -> tuple[list[str], list[str]]:
    """(variables, placeholders) a prompt's compile() needs; ([], []) if it does not parse."""
    try:
        if prompt.spec.type == "chat":
            return chat_variables(prompt.spec.messages_as_dicts() or [])
        return list(variables_of(prompt.spec.prompt or "")), []
    except TemplateError:
        return [], []


def config_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Each key that differs, `a.b[0]` style, old → new (DeepDiff, imported when needed)."""
    if old == new:
        return []
    from deepdiff import DeepDiff

    changes = []
    kinds = {
        "dictionary_item_added": "added",
        "iterable_item_added": "added",
        "dictionary_item_removed": "removed",
        "iterable_item_removed": "removed",
    }
    for report, items in DeepDiff(old, new, view="tree").items():
        kind = kinds.get(report, "changed")
        for level in items:
            key = _path(level.path(output_format="list"))
            changes.append(
                Change(
                    key,
                    kind,
                    None if kind == "added" else level.t1,
                    None if kind == "removed" else level.t2,
                )
            )
    return sorted(changes, key=lambda c: c.key)


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _labels(prompt: LoadedPrompt) -> dict[str, int]:
    """Every label with its version, `latest` (implied by the version) included."""
    return {**prompt.spec.label_map(), LATEST: prompt.version}


def _label_changes(old: dict[str, int], new: dict[str, int]) -> list[Change]:
    changes = []
    for label in sorted(old.keys() | new.keys(), key=lambda x: (x == LATEST, x)):
        a, b = old.get(label), new.get(label)
        if a == b:
            continue
        kind = "added" if a is None else "removed" if b is None else "moved"
        changes.append(Change(label, kind, a, b))
    return changes


# -- breaking for callers of production ---------------------------------------------------


class _Histories:
    """Git history on each side, read only for prompts whose production pin is old."""

    def __init__(self, repo: PromptRepo, base: str, head: str | None):
        self.repo, self.base, self.head = repo, base, head
        self._cache: dict[str, VersionHistory] = {}

    def content(self, name: str, version: int, side: str) -> LoadedPrompt | None:
        ref = self.base if side == "base" else (self.head or "HEAD")
        if not self.repo.has_commits():
            return None
        history = self._cache.get(ref)
        if history is None:
            history = self._cache[ref] = VersionHistory(self.repo, [ref])
        return history.content(name, version)


def _production(
    prompt: LoadedPrompt, side: str, histories: _Histories | None
) -> tuple[int | None, LoadedPrompt | None]:
    version = prompt.spec.label_map().get(PRODUCTION)
    if version is None or version == prompt.version:
        return version, prompt if version is not None else None
    return version, histories.content(prompt.name, version, side) if histories else None


def _breaking(
    name: str, old: LoadedPrompt, new: LoadedPrompt | None, histories: _Histories | None
) -> list[str]:
    old_version, old_content = _production(old, "base", histories)
    if old_version is None:
        return []  # nobody calls it through production yet
    if new is None:
        return [f"prompt removed while `production` pointed to v{old_version}"]
    new_version, new_content = _production(new, "head", histories)
    if new_version is None:
        return [f"`production` label removed (was v{old_version})"]
    if old_content is None or new_content is None or old_content.hash == new_content.hash:
        return []
    if old_content.spec.type != new_content.spec.type:
        return [
            f"`production` (v{old_version} → v{new_version}) turns from a {old_content.spec.type} "
            f"into a {new_content.spec.type} prompt: compile() returns another shape"
        ]
    old_vars, old_slots = variables(old_content)
    new_vars, new_slots = variables(new_content)
    needed = [v for v in new_vars if v not in old_vars] + [
        p for p in new_slots if p not in old_slots
    ]
    if not needed:
        return []
    names = ", ".join(f"`{n}`" for n in needed)
    return [
        f"`production` (v{old_version} → v{new_version}) needs {names}, which callers of "
        f"v{old_version} do not pass"
    ]
