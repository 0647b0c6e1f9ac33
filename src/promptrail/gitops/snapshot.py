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
from typing import Any
from urllib.parse import quote

from promptrail.constants import LATEST, PREVIEW_PREFIX, SNAPSHOT_FORMAT
from promptrail.errors import (
    ProblemsFound,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
    UsageError,
)
from promptrail.repo.spec import label_map, version_data


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
    import httpx

    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout) as http:
        state = _get_json(http, "/api/v1/state", {})
        prefix = state.get("preview_prefix") or PREVIEW_PREFIX
        versions: dict[tuple[str, int], dict[str, Any]] = {}
        label_maps: dict[str, dict[str, int]] = {}
        skipped: list[str] = []
        for name, prompt in sorted((state.get("prompts") or {}).items()):
            known = prompt.get("labels") or {}
            if labels is None:
                wanted = [label for label in known if not label.startswith(prefix)] + [LATEST]
            else:
                wanted = labels
            path = "/api/v1/prompts/" + quote(name, safe="/")
            for label in wanted:
                if label != LATEST and label not in known:
                    continue
                data = _get_json(http, path, {"label": label}, missing_ok=True)
                if data is None:
                    skipped.append(f"{name}: label {label!r} is not served")
                    continue
                _add(versions, data, name, label)
                label_maps.setdefault(name, {})[label] = data["version"]
            if all_versions:
                for number in prompt.get("versions") or {}:
                    if (name, int(number)) not in versions:
                        data = _get_json(http, path, {"version": str(number)}, missing_ok=True)
                        if data is not None:
                            _add(versions, data, name, None)
    source = {"registry": url, "labels": labels, "all_versions": all_versions}
    return Built(snapshot_document(versions.values(), label_maps, source), skipped)


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


def _get_json(
    http: Any, path: str, params: dict[str, str], missing_ok: bool = False
) -> dict[str, Any] | None:
    import httpx

    try:
        response = http.get(path, params=params)
    except httpx.HTTPError as exc:
        raise RegistryUnavailable(
            f"registry {http.base_url}: {exc} (is `promptrail serve` running there? "
            "check --registry / PROMPTRAIL_URL)"
        ) from None
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code in (401, 403):
        raise Unauthorized(
            f"registry {http.base_url} refused {path}: pass --api-key (or set "
            "PROMPTRAIL_API_KEY) with a key that has the `read` scope",
            response.status_code,
        )
    if response.status_code != 200:
        raise RegistryError(
            f"registry {http.base_url}{path}: HTTP {response.status_code}: {response.text[:200]}",
            response.status_code,
        )
    try:
        data = response.json()
    except ValueError:
        raise RegistryError(f"registry {http.base_url}{path}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise RegistryError(f"registry {http.base_url}{path}: the answer is not a JSON object")
    return data


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
