"""`promptrail import langfuse`: a Langfuse project's prompts and datasets, into git.

Every prompt version becomes one commit of `prompts/<name>.yaml`, in the order Langfuse
created them, with the original commit message and date, so the repository's history is
the project's history; a last commit sets the labels Langfuse has now. `publish
--history` into an empty registry then rebuilds the same versions and labels. Datasets
are written to `datasets/<name>.yaml` (one commit when any changed).

Each version commit carries a trailer (`Langfuse-Import: name@version`), so a rerun adds
only the versions it has not imported yet, and a rerun with nothing new adds no commit.
The source is read through Langfuse's public API (Basic auth with a key pair), which a
promptrail server also speaks, so a promptrail registry can be a source too.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from promptrail.api.langfuse import from_lf_messages
from promptrail.constants import LATEST
from promptrail.errors import GitError, PromptFileError, RegistryUnavailable, UsageError
from promptrail.repo.promptfile import parse_prompt
from promptrail.repo.repository import PromptRepo
from promptrail.repo.spec import LABEL_RE, is_valid_name
from promptrail.repo.yamlfile import dump_yaml

TRAILER = "Langfuse-Import"
TRAILER_RE = re.compile(rf"^{TRAILER}: (?P<name>\S+)@(?P<version>\d+)$", re.M)
PAGE = 100
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SourceVersion:
    """One prompt version as the source serves it, in promptrail's terms."""

    name: str  # the promptrail name (the Langfuse one, made valid if it was not)
    source_name: str
    version: int
    type: str
    prompt: str | None
    messages: list[dict[str, str]] | None
    config: dict[str, Any]
    labels: list[str]
    tags: list[str]
    message: str | None
    created_at: str | None


@dataclass(frozen=True)
class SourceDataset:
    name: str
    description: str | None
    items: list[dict[str, Any]]


@dataclass
class ImportResult:
    commits: list[str] = field(default_factory=list)
    versions: int = 0  # new version commits
    prompts: int = 0  # prompts in the source
    datasets: int = 0
    renamed: dict[str, str] = field(default_factory=dict)  # Langfuse name -> promptrail name
    skipped_labels: list[str] = field(default_factory=list)


def promptrail_name(name: str) -> str:
    """A valid promptrail name for a Langfuse one (lowercase; other characters as `-`)."""
    parts = [re.sub(r"[^a-z0-9_.-]+", "-", part.lower()).strip("-.") for part in name.split("/")]
    return "/".join(part or "prompt" for part in parts if part) or "prompt"


class LangfuseSource:
    """Reads a Langfuse project (or a promptrail server) through the public API."""

    def __init__(
        self,
        host: str,
        public_key: str,
        secret_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ):
        self.host = host.rstrip("/")
        self.http = httpx.Client(
            base_url=self.host,
            auth=(public_key, secret_key),
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, *, missing_ok: bool = False, **params: Any) -> Any:
        try:
            response = self.http.get(
                path, params={k: v for k, v in params.items() if v is not None}
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(f"cannot reach {self.host}: {exc}") from None
        if response.status_code in (401, 403):
            raise UsageError(
                f"{self.host} refused the key pair ({response.status_code}): check "
                "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY"
            )
        if response.status_code == 404 and missing_ok:
            return {"data": [], "meta": {"totalPages": 0}}
        if response.status_code >= 400:
            raise RegistryUnavailable(
                f"GET {path} on {self.host} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    def _pages(
        self, path: str, *, missing_ok: bool = False, **params: Any
    ) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self._get(path, missing_ok=missing_ok, page=page, limit=PAGE, **params)
            yield from body.get("data", [])
            if page >= int(body.get("meta", {}).get("totalPages") or 0):
                return
            page += 1

    def prompt_names(self) -> list[tuple[str, list[int]]]:
        return [(m["name"], sorted(m["versions"])) for m in self._pages("/api/public/v2/prompts")]

    def version(self, name: str, version: int) -> SourceVersion:
        quoted = urllib.parse.quote(name, safe="")
        body = self._get(f"/api/public/v2/prompts/{quoted}", version=version)
        kind = body.get("type", "text")
        try:
            messages = from_lf_messages(body["prompt"]) if kind == "chat" else None
        except ValueError as exc:
            raise PromptFileError(f"Langfuse prompt {name!r} version {version}: {exc}") from None
        return SourceVersion(
            name=promptrail_name(name),
            source_name=name,
            version=int(body["version"]),
            type=kind,
            prompt=None if kind == "chat" else str(body.get("prompt") or ""),
            messages=messages,
            config=body.get("config") or {},
            labels=[label for label in body.get("labels", []) if label != LATEST],
            tags=list(body.get("tags") or []),
            message=body.get("commitMessage"),
            created_at=body.get("createdAt"),
        )

    def datasets(self) -> list[SourceDataset]:
        found = []
        # A server without datasets (404) has none to import.
        for meta in self._pages("/api/public/v2/datasets", missing_ok=True):
            items = [
                {
                    "id": item["id"],
                    "input": item.get("input"),
                    "expected": item.get("expectedOutput"),
                    "metadata": item.get("metadata") or {},
                }
                for item in self._pages("/api/public/dataset-items", datasetName=meta["name"])
                if item.get("status", "ACTIVE") == "ACTIVE"
            ]
            items.sort(key=lambda item: str(item["id"]))
            found.append(SourceDataset(meta["name"], meta.get("description"), items))
        return found


# -- writing files ------------------------------------------------------------------------------


def prompt_file(version: SourceVersion, labels: dict[str, int] | list[str]) -> str:
    document: dict[str, Any] = {"version": version.version}
    if version.type == "chat":
        document["type"] = "chat"
        document["messages"] = version.messages
    else:
        document["prompt"] = version.prompt
    if version.config:
        document["config"] = version.config
    document["labels"] = labels
    if version.tags:
        document["tags"] = version.tags
    header = f"# Imported from Langfuse ({version.source_name!r}).\n"
    return header + dump_yaml(document)


def _labels(current: dict[str, int], top: int) -> dict[str, int] | list[str]:
    if all(v == top for v in current.values()):
        return sorted(current)
    return dict(sorted(current.items()))


# -- the import ---------------------------------------------------------------------------------


def imported_versions(repo: PromptRepo) -> set[tuple[str, int]]:
    """(name, version) pairs earlier imports committed, from the trailers in history."""
    if not repo.has_commits():
        return set()
    log = repo.git.run("log", "--format=%B%x00", "HEAD").decode("utf-8", errors="replace")
    return {(m["name"], int(m["version"])) for m in TRAILER_RE.finditer(log)}


def _git_date(value: str | None) -> str | None:
    """An ISO 8601 time as git's `<epoch> +0000` (GitPython parses no `Z` or offsets)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{int(moment.timestamp())} +0000"


def _commit(repo: PromptRepo, paths: list[str], message: str, date: str | None) -> str:
    """Commit `paths` (the original date as the author date); "" when nothing changed."""
    git = repo.git
    git.run("add", "--", *paths)
    if repo.has_commits():
        try:
            git.run("diff", "--cached", "--quiet")
            return ""  # exit 0: nothing staged
        except GitError:
            pass  # exit 1: something to commit
    when = _git_date(date)
    git.run("commit", "-q", "-m", message, *(["--date", when] if when else []), "--", *paths)
    return git.run("rev-parse", "HEAD").decode().strip()


def import_langfuse(
    repo: PromptRepo, source: LangfuseSource, *, progress: Progress | None = None
) -> ImportResult:
    """Import every prompt version not yet imported, then the labels, then the datasets."""
    root = repo.require_git()
    say = progress or (lambda _message: None)
    rel = repo.prompts_rel or "prompts"
    if repo.git.run("status", "--porcelain", "--", rel).strip():
        raise GitError(
            f"{rel}/ has uncommitted changes: commit or stash them first, so the import's "
            "commits hold only what it imports"
        )
    result = ImportResult()
    done = imported_versions(repo)
    listing = source.prompt_names()
    result.prompts = len(listing)
    by_name: dict[str, str] = {}
    wanted: list[SourceVersion] = []
    latest: dict[str, SourceVersion] = {}
    positions: dict[str, dict[str, int]] = {}  # name -> label -> version
    for index, (name, numbers) in enumerate(listing, 1):
        target = promptrail_name(name)
        if target != name:
            result.renamed[name] = target
        if by_name.setdefault(target, name) != name:
            raise UsageError(
                f"Langfuse prompts {by_name[target]!r} and {name!r} would both become "
                f"{target!r}: rename one in Langfuse first"
            )
        if not is_valid_name(target):
            raise UsageError(f"cannot turn Langfuse prompt name {name!r} into a promptrail name")
        say(f"[{index}/{len(listing)}] {name}: {len(numbers)} versions")
        for number in numbers:
            fetched = source.version(name, number)
            latest[target] = fetched
            for label in fetched.labels:
                positions.setdefault(target, {})[label] = number
            if (target, number) not in done:
                wanted.append(fetched)
    wanted.sort(key=lambda v: (v.created_at or "", v.name, v.version))

    for version in wanted:
        relative = f"{rel}/{version.name}.yaml"
        text = prompt_file(version, [])
        _check(text, version.name, relative)
        _write(root, relative, text)
        subject = (version.message or f"{version.name} v{version.version}").splitlines()[0]
        message = f"{subject}\n\n{TRAILER}: {version.name}@{version.version}\n"
        sha = _commit(repo, [relative], message, version.created_at)
        result.versions += 1
        if sha:
            result.commits.append(sha)
    if wanted:
        say(f"{len(wanted)} versions committed")

    # The labels Langfuse has now, in one last commit.
    touched = []
    for name, top in sorted(latest.items()):
        current: dict[str, int] = {}
        for label, where in positions.get(name, {}).items():
            if LABEL_RE.match(label):
                current[label] = where
            else:
                result.skipped_labels.append(f"{top.source_name}:{label}")
        relative = f"{rel}/{name}.yaml"
        text = prompt_file(top, _labels(current, top.version))
        _check(text, name, relative)
        if _write(root, relative, text):
            touched.append(relative)
    _commit_all(repo, touched, "Labels as in Langfuse at import", result)
    result.datasets = _import_datasets(repo, root, source, result)
    return result


def _write(root: Path, relative: str, text: str) -> bool:
    """Write the file unless it already reads `text`; True when it changed."""
    path = root / relative
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _commit_all(repo: PromptRepo, paths: list[str], message: str, result: ImportResult) -> None:
    if paths:
        sha = _commit(repo, paths, message, None)
        if sha:
            result.commits.append(sha)


def _check(text: str, name: str, relative: str) -> None:
    """The file parses as a promptrail prompt, or the import stops naming it."""
    parse_prompt(text.encode(), name, relative)


def _import_datasets(
    repo: PromptRepo, root: Path, source: LangfuseSource, result: ImportResult
) -> int:
    datasets = source.datasets()
    touched = []
    for dataset in datasets:
        relative = f"datasets/{promptrail_name(dataset.name)}.yaml"
        document: dict[str, Any] = {}
        if dataset.description:
            document["description"] = dataset.description
        document["items"] = [
            {k: v for k, v in item.items() if v not in (None, {})} for item in dataset.items
        ]
        text = f"# Imported from Langfuse ({dataset.name!r}).\n" + dump_yaml(document)
        if _write(root, relative, text):
            touched.append(relative)
    _commit_all(repo, touched, "Datasets as in Langfuse at import", result)
    return len(datasets)
