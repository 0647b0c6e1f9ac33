"""The client's sources without a network: a snapshot file and a prompts folder.

A snapshot is one JSON file written by `promptrail snapshot` (see snapshot.py) and shipped
with the app:

    {"format": "promptrail-snapshot/1", "created_at": "...", "source": {...},
     "prompts": {"support/triage": {"labels": {"production": 3, "latest": 4},
                                    "versions": {"3": {<registry JSON of v3>}, "4": {...}}}}}

Version entries have the registry's shape (`GET /api/v1/prompts/{name}`), so a prompt
served from a snapshot keeps its real name, version and hash.

A folder is a prompts/ tree read with the CLI's loader: labels come from the files, and a
label pinned to an older version (`labels: {production: 3}`) is read from git history
when the folder is in a git repository (skipped otherwise).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

from promptrail.constants import SNAPSHOT_FORMAT
from promptrail.errors import SnapshotError


class Snapshot:
    kind: Literal["snapshot"] = "snapshot"

    def __init__(self, path: str, prompts: dict[str, Any]):
        self.path = path
        self.prompts = prompts

    def lookup(self, key: tuple[str, str | int], tried: list[str]) -> dict[str, Any] | None:
        name, which = key
        entry = self.prompts.get(name)
        if isinstance(entry, dict):
            version = which if isinstance(which, int) else entry.get("labels", {}).get(which)
            data = entry.get("versions", {}).get(str(version))
            if isinstance(data, dict):
                return data
        tried.append(f"snapshot {self.path}: not in it")
        return None


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    import json

    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise SnapshotError(
            f"snapshot {path}: cannot read it ({exc.strerror or exc}); write one with "
            "`promptrail snapshot -o FILE` or fix PROMPTRAIL_SNAPSHOT"
        ) from None
    except ValueError as exc:
        raise SnapshotError(
            f"snapshot {path}: not valid JSON ({exc}); write it again with `promptrail snapshot`"
        ) from None
    found = document.get("format") if isinstance(document, dict) else None
    if found != SNAPSHOT_FORMAT:
        raise SnapshotError(
            f"snapshot {path}: format {found!r} is not {SNAPSHOT_FORMAT!r}; write it again "
            "with this version's `promptrail snapshot`"
        )
    prompts = document.get("prompts")
    if not isinstance(prompts, dict):
        raise SnapshotError(f"snapshot {path}: `prompts` must be an object")
    return Snapshot(path, prompts)


class Folder:
    """A prompts folder read on demand with the CLI's loader (imported on first use)."""

    kind: Literal["folder"] = "folder"

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._repo: Any = None
        self._lock = threading.Lock()

    def repo(self) -> Any:
        if self._repo is None:
            from promptrail.repo.repository import PromptRepo

            self._repo = PromptRepo(self.path)
        return self._repo

    def lookup(self, key: tuple[str, str | int], tried: list[str]) -> dict[str, Any] | None:
        from promptrail.errors import PromptrailError

        name, which = key
        try:
            with self._lock:  # a PromptRepo is not made for concurrent use
                data, why = self._lookup(name, which)
        except (PromptrailError, OSError) as exc:
            data, why = None, str(exc)
        if data is None:
            tried.append(f"prompts folder {self.path}: {why}")
        return data

    def _lookup(self, name: str, which: str | int) -> tuple[dict[str, Any] | None, str]:
        loaded = self.repo().load(None, names=[name])
        if name not in loaded:
            problems = [str(p) for p in loaded.problems if p.name == name]
            return None, problems[0] if problems else "no such prompt file"
        from promptrail.repo.spec import label_map, version_data

        spec = loaded[name].spec
        labels = label_map(spec)
        version = which if isinstance(which, int) else labels.get(which)
        if version is None:
            return None, f"{name} has no label {which!r}"
        if version == spec.version:
            return version_data(name, spec, labels), ""
        old = self.history_version(name, version)
        if old is None:
            where = "its git history" if self.repo().is_git else "the folder (not a git repository)"
            return None, f"version {version} of {name} is not in {where}"
        return version_data(name, old, labels), ""

    def history_version(self, name: str, version: int) -> Any:
        repo = self.repo()
        if not repo.has_commits():
            return None
        from promptrail.repo.repository import last_with_version

        # The last content committed under the number, as the registry has it.
        entry = last_with_version(repo.history([name]).get(name, []), version)
        return entry.prompt.spec if entry is not None and entry.prompt is not None else None
