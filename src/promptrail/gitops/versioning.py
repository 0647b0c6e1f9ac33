"""Version numbers: which ones each prompt had in git history, bumping, moving labels.

`validate`, `version` and `diff` ask the same questions of history: which numbers did this
prompt ever carry, and what content did number N have. One `git log` lists every
blob a prompt file ever had; blobs are read in one `git cat-file --batch`; the version
number is taken from the top-level `version:` line with a regex, and only the blobs whose
content matters (a number that may be reused, a pinned label) are parsed. Prompts whose
file only ever had one content cost nothing.

`bump_versions`, `set_label` and `remove_label` edit prompt files as a person would: only
the number on the `version:` line, or the labels, change; comments, quoting and key order
stay byte for byte. Each edit is parsed back and checked before it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from promptrail.constants import LATEST
from promptrail.errors import ProblemsFound, PromptFileError, SchemaProblems, UsageError
from promptrail.repo.promptfile import LoadedPrompt, parse_prompt
from promptrail.repo.repository import Commit, PromptRepo
from promptrail.repo.spec import LABEL_RE

_VERSION_LINE = re.compile(rb"^version[ \t]*:[ \t]*(\d+)[ \t]*(?:#[^\n]*)?\r?$", re.MULTILINE)


def _version_of(data: bytes, name: str, path: str, blob: str) -> int | None:
    found = _VERSION_LINE.findall(data)
    if len(found) == 1:
        return int(found[0])
    prompt = _parse(data, name, path, blob)
    return prompt.version if prompt else None


def _parse(data: bytes, name: str, path: str, blob: str) -> LoadedPrompt | None:
    try:
        return parse_prompt(data, name, path, blob)
    except (PromptFileError, SchemaProblems):
        return None


class VersionHistory:
    """Every content each prompt file had in the history of some refs (oldest first)."""

    def __init__(self, repo: PromptRepo, refs: Iterable[str] = ("HEAD",)):
        self.repo = repo
        self.commits: dict[str, list[tuple[Commit, str]]] = {}
        self._prefix = repo.prompts_rel if repo.is_git else ""
        if repo.is_git and repo.has_commits():
            for ref in dict.fromkeys(refs):
                for name, entries in repo.blob_history(ref).items():
                    merged = self.commits.get(name)
                    if merged is None:
                        self.commits[name] = entries
                        continue
                    known = {blob for _, blob in merged}
                    merged.extend(e for e in entries if e[1] not in known)
        self._data: dict[str, bytes] = {}
        self._versions: dict[str, dict[int, list[str]]] = {}

    def blobs(self, name: str) -> list[str]:
        return [blob for _, blob in self.commits.get(name, [])]

    def has_other_blobs(self, name: str, blob: str) -> bool:
        return any(b != blob for _, b in self.commits.get(name, []))

    def commit_of(self, name: str, blob: str) -> Commit | None:
        for commit, b in self.commits.get(name, []):
            if b == blob:
                return commit
        return None

    def prefetch(self, names: Iterable[str]) -> None:
        """Read the blobs of many prompts in one git call (before asking about them)."""
        wanted = [b for n in names for b in self.blobs(n) if b not in self._data]
        if wanted:
            self._data.update(self.repo.read_blobs(wanted))

    def versions(self, name: str) -> dict[int, list[str]]:
        """Version number -> the blobs that carried it, in history order."""
        cached = self._versions.get(name)
        if cached is not None:
            return cached
        self.prefetch([name])
        path = self.path_of(name)
        result: dict[int, list[str]] = {}
        for blob in self.blobs(name):
            version = _version_of(self._data[blob], name, path, blob)
            if version is not None:
                result.setdefault(version, []).append(blob)
        self._versions[name] = result
        return result

    def numbers(self, name: str) -> set[int]:
        return set(self.versions(name))

    def content(self, name: str, version: int) -> LoadedPrompt | None:
        """What `version` meant: the last content the file had under that number, parsed.

        The last, not the first: a branch may commit drafts of a new version before it is
        merged and published (the registry check guards what was really published), while
        a number that was left for another and comes back with new content still differs.
        """
        for blob in reversed(self.versions(name).get(version, [])):
            prompt = _parse(self._data[blob], name, self.path_of(name), blob)
            if prompt is not None and prompt.version == version:
                return prompt
        return None

    def path_of(self, name: str) -> str:
        return f"{self._prefix}/{name}.yaml" if self._prefix else f"{name}.yaml"


# -- bumping ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bump:
    name: str
    path: str
    old: int
    new: int

    def __str__(self) -> str:
        return f"{self.name}: {self.old} → {self.new} ({self.path})"


def plan_bumps(
    repo: PromptRepo,
    base: str | None = None,
    known_versions: Mapping[str, Iterable[int] | Mapping[int, str]] | None = None,
) -> list[Bump]:
    """The prompts whose content changed (since `base`, else since HEAD) and need a number.

    The new number is one above every version the prompt ever had: in git history, at
    `base`, and in `known_versions` (the registry's). A prompt back on the exact content a
    number already had (a revert) keeps that number; a new prompt keeps its number.
    When `known_versions` maps numbers to hashes, a prompt whose number the registry holds
    with other content is bumped too, even if committed (another branch published it).
    """
    repo.require_git()  # without history there is no knowing which numbers were used
    known = known_versions or {}
    ref = base if base is not None else ("HEAD" if repo.has_commits() else None)
    if ref is None:
        candidates = set(repo.index()[0])
        modified: set[str] = set()
    else:
        added, _, modified = repo.changed(ref, None)
        candidates = added | modified
    taken = _taken_elsewhere(repo, known)
    candidates |= taken
    current = repo.load(None, names=sorted(candidates))
    before = repo.load(ref, names=sorted(modified)) if ref is not None else None
    history = VersionHistory(repo, ["HEAD", base] if base else ["HEAD"])
    history.prefetch(candidates)
    bumps = []
    for name in sorted(candidates):
        prompt = current.prompts.get(name)
        if prompt is None:
            continue  # does not parse: `validate` says why
        ever = history.numbers(name) | set(known.get(name, ()))
        if name in taken:
            bumps.append(Bump(name, prompt.path, prompt.version, max(ever) + 1))
            continue
        old = before.prompts.get(name) if before is not None else None
        if old is not None and old.hash == prompt.hash:
            continue  # labels, tags or description only
        if old is not None:
            ever.add(old.version)
        if not ever or prompt.version > max(ever):
            continue  # a new prompt, or already bumped
        if old is None or prompt.version != old.version:
            original = history.content(name, prompt.version)
            if original is not None and original.hash == prompt.hash:
                continue  # a revert to what this number meant (or its committed draft)
        bumps.append(Bump(name, prompt.path, prompt.version, max(ever) + 1))
    return bumps


def _taken_elsewhere(
    repo: PromptRepo, known: Mapping[str, Iterable[int] | Mapping[int, str]]
) -> set[str]:
    """Prompts whose current number the registry holds with other content."""
    hashes = {name: v for name, v in known.items() if isinstance(v, Mapping)}
    if not hashes:
        return set()
    names = sorted(set(hashes) & set(repo.index()[0]))
    current = repo.load(None, names=names).prompts
    return {
        name
        for name, prompt in current.items()
        if hashes[name].get(prompt.version, prompt.hash) != prompt.hash
    }


def bump_versions(
    repo: PromptRepo,
    base: str | None = None,
    known_versions: Mapping[str, Iterable[int] | Mapping[int, str]] | None = None,
) -> list[Bump]:
    """Plan the bumps and write them: only the number on each `version:` line changes."""
    bumps = plan_bumps(repo, base, known_versions)
    for bump in bumps:
        file = _file(repo, bump.path)
        data = file.read_bytes()
        prompt = parse_prompt(data, bump.name, bump.path)
        edited = set_version_text(data, prompt.line("version"), bump.new)
        _check_edit(edited, prompt, bump.path, version=bump.new)
        file.write_bytes(edited)
    return bumps


_VERSION_VALUE = re.compile(rb"(\bversion[ \t]*:[ \t]*)([\"']?)(\d+)\2")


def set_version_text(data: bytes, line: int, version: int) -> bytes:
    """`data` with the number on its `version:` line (1-based `line`) replaced."""
    lines = data.splitlines(keepends=True)
    target = lines[line - 1]
    edited, count = _VERSION_VALUE.subn(
        lambda m: m.group(1) + m.group(2) + str(version).encode() + m.group(2), target, count=1
    )
    if not count:
        raise PromptFileError("cannot find the number on the `version:` line", None, line)
    lines[line - 1] = edited
    return b"".join(lines)


def _file(repo: PromptRepo, path: str) -> Path:
    base = repo.git_root or repo.prompts_path.parent
    return Path(base, path)


def _check_edit(
    data: bytes,
    before: LoadedPrompt,
    path: str,
    version: int | None = None,
    labels: dict[str, int] | None = None,
) -> None:
    """Parse the edited file: same content, and exactly the change intended."""
    try:
        after = parse_prompt(data, before.name, path)
    except (PromptFileError, SchemaProblems) as exc:
        message = f"editing the file would break it ({exc}); edit it by hand"
        raise PromptFileError(message, path) from None
    same = after.spec.content() == before.spec.content()
    wanted_version = version if version is not None else before.version
    if labels is None:
        same_labels = after.spec.labels == before.spec.labels
    else:
        same_labels = after.spec.label_map() == labels
    if not same or after.version != wanted_version or not same_labels:
        raise PromptFileError("could not edit the file safely; edit it by hand", path)


# -- moving labels (promote, pin) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelEdit:
    name: str
    path: str
    label: str
    old: int | None  # None: the label was not set
    new: int | None  # None: removed

    def __str__(self) -> str:
        if self.new is None:
            return f"{self.name}: {self.label} removed (was v{self.old}) ({self.path})"
        if self.old is None:
            return f"{self.name}: {self.label} added on v{self.new} ({self.path})"
        if self.old == self.new:
            return f"{self.name}: {self.label} already on v{self.new} ({self.path})"
        return f"{self.name}: {self.label} v{self.old} → v{self.new} ({self.path})"


def set_label(repo: PromptRepo, name: str, label: str, version: int | None = None) -> LabelEdit:
    """Point `label` of prompt `name` at `version` (default: the file's) by editing its file.

    A list of labels stays a list while every label is on the file's version; a label on
    an older version turns it into a mapping. Nothing else in the file changes.
    """
    if label == LATEST:
        raise UsageError("`latest` is always the file's version; it cannot be set")
    if not LABEL_RE.match(label):
        raise UsageError(
            f"{label!r} is not a valid label: lowercase letters, digits, `-`, `_`, `.`"
        )
    prompt, data = _load_one(repo, name)
    version = prompt.version if version is None else version
    if version > prompt.version:
        raise UsageError(
            f"{name!r} is at version {prompt.version}; a label cannot point to {version} "
            "(bump the version first)"
        )
    if version < prompt.version:
        history = VersionHistory(repo)
        had = history.numbers(name)
        if version not in had:
            listed = ", ".join(str(v) for v in sorted(had | {prompt.version}))
            raise UsageError(
                f"{name!r} never had version {version} in git history (versions: {listed})"
            )
    labels = prompt.spec.label_map()
    old = labels.get(label)
    if old == version:
        return LabelEdit(name, prompt.path, label, old, version)
    labels[label] = version
    as_list = isinstance(prompt.spec.labels, list) and all(
        v == prompt.version for v in labels.values()
    )
    edited = _edit_labels(data, labels, as_list, changed=label)
    _check_edit(edited, prompt, prompt.path, labels=labels)
    _file(repo, prompt.path).write_bytes(edited)
    return LabelEdit(name, prompt.path, label, old, version)


def remove_label(repo: PromptRepo, name: str, label: str) -> LabelEdit:
    prompt, data = _load_one(repo, name)
    labels = prompt.spec.label_map()
    if label not in labels:
        have = ", ".join(labels) or "none"
        raise UsageError(f"{name!r} has no label {label!r} (labels: {have})")
    old = labels.pop(label)
    edited = _edit_labels(data, labels, isinstance(prompt.spec.labels, list), changed=label)
    _check_edit(edited, prompt, prompt.path, labels=labels)
    _file(repo, prompt.path).write_bytes(edited)
    return LabelEdit(name, prompt.path, label, old, None)


def _load_one(repo: PromptRepo, name: str) -> tuple[LoadedPrompt, bytes]:
    loaded = repo.load(None, names=[name])
    if name not in loaded:
        mine = [p for p in loaded.problems if p.name == name]
        if mine:
            raise ProblemsFound(mine)
        raise UsageError(f"no prompt named {name!r} in {repo.prompts_path}")
    prompt = loaded[name]
    return prompt, _file(repo, prompt.path).read_bytes()


def _scalar(label: str) -> str:
    """A label as YAML: plain unless YAML would read it as something else (`no`, `1`)."""
    return label if yaml.safe_load(label) == label else f'"{label}"'


def _flow(labels: dict[str, int], as_list: bool) -> str:
    if as_list:
        return "[" + ", ".join(_scalar(k) for k in labels) + "]"
    return "{" + ", ".join(f"{_scalar(k)}: {v}" for k, v in labels.items()) + "}"


def _edit_labels(data: bytes, labels: dict[str, int], as_list: bool, changed: str) -> bytes:
    """Rewrite the `labels:` value of a file with as small an edit as the style allows."""
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    text = _edit_labels_text(text, labels, as_list, changed, newline)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def _edit_labels_text(
    text: str, labels: dict[str, int], as_list: bool, changed: str, newline: str
) -> str:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    entries = root.value if root is not None else []  # an empty file composes to None
    entry = next((kv for kv in entries if kv[0].value == "labels"), None)
    if entry is None:  # no labels yet: one line at the end
        sep = "" if not text or text.endswith(("\n", "\r")) else newline
        return f"{text}{sep}labels: {_flow(labels, as_list)}{newline}"
    key, value = entry
    items = value.value if isinstance(value, yaml.CollectionNode) else []
    if isinstance(value, yaml.ScalarNode) or value.flow_style or not items:
        return _splice(text, value.start_mark.index, value.end_mark.index, _flow(labels, as_list))
    last = items[-1]
    last_end = (last[1] if isinstance(last, tuple) else last).end_mark.index
    block_list = isinstance(value, yaml.SequenceNode)
    if block_list != as_list or not labels:  # the form changes: one flow line instead
        return _splice(text, key.start_mark.index, last_end, f"labels: {_flow(labels, as_list)}")
    if block_list:
        nodes = {node.value: node for node in items}
        if changed in nodes:  # removed
            return _delete_line(text, nodes[changed].start_mark.index)
        start = _line_start(text, last.start_mark.index)
        prefix = text[start : last.start_mark.index]
        return _insert_after_line(text, last_end, prefix + _scalar(changed), newline)
    pairs = {k.value: (k, v) for k, v in items}
    if changed not in labels:
        return _delete_line(text, pairs[changed][0].start_mark.index)
    if changed in pairs:
        number = pairs[changed][1]
        return _splice(text, number.start_mark.index, number.end_mark.index, str(labels[changed]))
    last_key = items[-1][0]
    prefix = text[_line_start(text, last_key.start_mark.index) : last_key.start_mark.index]
    line = f"{prefix}{_scalar(changed)}: {labels[changed]}"
    return _insert_after_line(text, last_end, line, newline)


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end == -1 else end + 1


def _delete_line(text: str, index: int) -> str:
    return text[: _line_start(text, index)] + text[_line_end(text, index) :]


def _insert_after_line(text: str, index: int, line: str, newline: str) -> str:
    end = _line_end(text, index)
    head = text[:end]
    if not head.endswith("\n"):
        head += newline
    return head + line + newline + text[end:]
