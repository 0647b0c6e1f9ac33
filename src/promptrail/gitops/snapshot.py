"""Writing snapshots: the labelled versions of every prompt, in one file an app boots from.

Two builders: from the registry (what is live) and from a prompts folder or git ref (no
registry at all: air-gapped deployments, tests). Both produce the same document, which
`local.load_snapshot` reads; see local.py for its shape.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptrail.constants import LATEST, PREVIEW_PREFIX, SNAPSHOT_FORMAT
from promptrail.errors import ProblemsFound, PromptNotFound, UsageError
from promptrail.repo.spec import label_map, version_data

if TYPE_CHECKING:
    from promptrail.api.client import RegistryClient


@dataclass
class Built:
    """A snapshot document and what was left out of it, for the person who asked."""

    document: dict[str, Any]
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        prompts = self.document["prompts"]
        labels = sum(len(p["labels"]) for p in prompts.values())
        versions = sum(len(p["versions"]) for p in prompts.values())
        return f"{len(prompts)} prompts, {labels} labels, {versions} versions"


def snapshot_document(
    versions: Iterable[dict[str, Any]], labels: dict[str, dict[str, int]], source: dict[str, Any]
) -> dict[str, Any]:
    """The snapshot JSON for `versions` (registry shape) and name -> {label: version}."""
    from datetime import UTC, datetime

    prompts: dict[str, Any] = {}
    for data in versions:
        slot = prompts.setdefault(data["name"], {"labels": {}, "versions": {}})
        slot["versions"][str(data["version"])] = data
    for name, mapping in labels.items():
        if name in prompts:
            prompts[name]["labels"] = dict(sorted(mapping.items()))
    for slot in prompts.values():
        slot["versions"] = dict(sorted(slot["versions"].items(), key=lambda kv: int(kv[0])))
    return {
        "format": SNAPSHOT_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "prompts": dict(sorted(prompts.items())),
    }


def write_snapshot(path: str | os.PathLike[str], document: dict[str, Any]) -> None:
    """Write atomically: a reader (or a crash) never sees half a file."""
    import tempfile
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it private; the app reading it may be another user
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise


# -- from a registry ------------------------------------------------------------------------


def from_registry(
    url: str,
    api_key: str | None = None,
    labels: list[str] | None = None,
    all_versions: bool = False,
    timeout: float = 30.0,
) -> Built:
    """Every prompt's labelled versions as the registry serves them now.

    `labels` None takes every label (previews excepted) and `latest`; `all_versions` adds
    every version, for apps that pin `version=N`.
    """
    from promptrail.api.client import RegistryClient

    versions: dict[tuple[str, int], dict[str, Any]] = {}
    label_maps: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    with RegistryClient(url, api_key, timeout=timeout) as client:
        state = client.state()
        prefix = state.preview_prefix or PREVIEW_PREFIX
        for name, prompt in sorted(state.prompts.items()):
            known = prompt.labels
            if labels is None:
                wanted = [label for label in known if not label.startswith(prefix)]
                wanted.append(LATEST)
            else:
                wanted = labels
            for label in wanted:
                if label != LATEST and label not in known:
                    continue
                data = _served(client, name, label=label)
                if data is None:
                    skipped.append(f"{name}: label {label!r} is not served")
                    continue
                _add(versions, data, name, label)
                label_maps.setdefault(name, {})[label] = data["version"]
            if all_versions:
                for number in prompt.versions:
                    if (name, int(number)) not in versions:
                        data = _served(client, name, version=int(number))
                        if data is not None:
                            _add(versions, data, name, None)
    source = {"registry": url, "labels": labels, "all_versions": all_versions}
    return Built(snapshot_document(versions.values(), label_maps, source), skipped)


def _served(
    client: RegistryClient, name: str, *, label: str | None = None, version: int | None = None
) -> dict[str, Any] | None:
    """The version in the registry's JSON shape, or None when it is not served."""
    try:
        served = client.get(name, label=label, version=version)
    except PromptNotFound:
        return None
    return served.model_dump(mode="json", exclude_none=True)


def _add(
    versions: dict[tuple[str, int], dict[str, Any]],
    data: dict[str, Any],
    name: str,
    label: str | None,
) -> None:
    key = (name, data["version"])
    seen = versions.get(key)
    if seen is not None and seen.get("hash") != data.get("hash"):
        raise UsageError(
            f"{name}: label {label!r} serves other content than version {key[1]} "
            "(a preview label); leave it out of --label"
        )
    versions[key] = data


# -- from a folder or git ref -----------------------------------------------------------------


def from_folder(path: str = ".", labels: list[str] | None = None, ref: str | None = None) -> Built:
    """The labelled versions the prompt files declare (at `ref`, or on disk).

    A label pinned to an older version (`labels: {production: 1}`) takes that version's
    content from git history; outside a git repository such a label is skipped.
    """
    from promptrail.repo.repository import PromptRepo, last_with_version

    repo = PromptRepo(path)
    loaded = repo.load(ref)
    if loaded.problems:
        raise ProblemsFound(loaded.problems)
    history: dict[str, Any] | None = None
    versions: list[dict[str, Any]] = []
    label_maps: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    for name, prompt in sorted(loaded.prompts.items()):
        spec = prompt.spec
        declared = label_map(spec)
        wanted = {k: v for k, v in declared.items() if labels is None or k in labels}
        specs = {}
        for label, number in wanted.items():
            if number == spec.version:
                specs[number] = spec
                continue
            if history is None:
                history = repo.history(ref=ref or "HEAD") if repo.has_commits() else {}
            entry = last_with_version(history.get(name, []), number)
            old = entry.prompt.spec if entry is not None and entry.prompt is not None else None
            if old is None:
                where = "git history" if repo.is_git else "the folder (not a git repository)"
                skipped.append(f"{name}: label {label!r} -> version {number} is not in {where}")
                continue
            specs[number] = old
        if not specs:
            continue
        label_maps[name] = {k: v for k, v in wanted.items() if v in specs}
        versions.extend(version_data(name, s, declared) for s in specs.values())
    source = {"folder": str(repo.prompts_path), "ref": ref, "labels": labels}
    return Built(snapshot_document(versions, label_maps, source), skipped)
