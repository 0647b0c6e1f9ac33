"""Prompt files from a folder or from any git ref, and each prompt's git history.

A repository is read in two steps: an *index* (name -> path and git blob id, cheap: no
YAML is parsed) and a *load* of the names that matter. Comparing two refs compares their
indexes, so a diff among 10,000 prompts parses only the files that changed. Parsed blobs
are cached by blob id: the same file content is parsed once per process.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from promptrail.errors import GitError, Problem, PromptFileError, SchemaProblems, UsageError
from promptrail.repo.git import Commit, Git, find_root
from promptrail.repo.promptfile import LoadedPrompt, git_blob_id, parse_prompt
from promptrail.repo.spec import is_valid_name
from promptrail.repo.yamlfile import check_size

PROMPTS_DIR = "prompts"
SUFFIXES = (".yaml", ".yml")
WORKTREE = None  # the `ref` meaning "the files on disk"


@dataclass(frozen=True, slots=True)
class Entry:
    """A prompt file as git sees it: where it is and which content it has."""

    name: str
    path: str  # relative to the repository root, posix separators
    blob: str  # git blob id of the file's bytes


@dataclass
class PromptSet:
    """The prompts of one ref (or of the working tree), and what could not be read."""

    ref: str | None
    prompts: dict[str, LoadedPrompt] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __getitem__(self, name: str) -> LoadedPrompt:
        return self.prompts[name]

    def __contains__(self, name: object) -> bool:
        return name in self.prompts

    def __len__(self) -> int:
        return len(self.prompts)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One content a prompt file had in one commit."""

    name: str
    commit: Commit
    blob: str
    prompt: LoadedPrompt | None  # None when that commit's file did not parse

    @property
    def version(self) -> int | None:
        return self.prompt.version if self.prompt else None

    @property
    def hash(self) -> str | None:
        return self.prompt.hash if self.prompt else None


def name_for(relative: str) -> str | None:
    """`support/triage.yaml` -> `support/triage`; None for files that are not prompts."""
    for suffix in SUFFIXES:
        if relative.endswith(suffix):
            return relative[: -len(suffix)]
    return None


class PromptRepo:
    """A prompts folder, inside a git repository or not.

    `root` is the folder that holds `prompts/` (or the prompts folder itself when it has
    no `prompts/` child and is not a repository's root). Git operations need the folder to
    be inside a git work tree.
    """

    def __init__(self, path: str | os.PathLike[str] = ".", prompts_dir: str = PROMPTS_DIR):
        path = Path(path).resolve()
        if not path.exists():
            raise UsageError(f"{path}: no such folder")
        if path.is_file():
            raise UsageError(f"{path}: expected a folder holding `{prompts_dir}/`, got a file")
        if (path / prompts_dir).is_dir() or (path / ".git").exists():
            # A repository's root without `prompts/` holds no prompts, whatever YAML it has.
            self.prompts_path = path / prompts_dir
        else:
            self.prompts_path = path
        # The folder holding `prompts/` and its siblings (`datasets/`, the user's modules).
        self.root = self.prompts_path.parent if self.prompts_path != path else path
        self._git: Git | None = None
        self._looked_for_git = False
        self._trees: dict[str, list[tuple[str, str, str]]] = {}  # commit -> files (immutable)

    # -- git ------------------------------------------------------------------------------

    @property
    def git_root(self) -> Path | None:
        if not self._looked_for_git:
            self._looked_for_git = True
            root = find_root(self.prompts_path if self.prompts_path.is_dir() else self.root)
            self._git = Git(root) if root is not None else None
        return self._git.root if self._git is not None else None

    @property
    def is_git(self) -> bool:
        return self.git_root is not None

    @property
    def git(self) -> Git:
        """The repository's git; GitError when the folder is not in one."""
        self.require_git()
        assert self._git is not None
        return self._git

    def require_git(self) -> Path:
        root = self.git_root
        if root is None:
            raise GitError(
                f"{self.prompts_path} is not inside a git repository "
                "(run `git init` there, or compare folders without refs)"
            )
        return root

    @property
    def prompts_rel(self) -> str:
        """The prompts folder relative to the git root ('' when it is the root)."""
        rel = self.prompts_path.relative_to(self.require_git()).as_posix()
        return "" if rel == "." else rel

    def resolve(self, ref: str) -> str:
        """The commit id a ref names; GitError naming the ref when there is none."""
        return self.git.resolve(ref)

    def merge_base(self, one: str, other: str) -> str:
        """The best common ancestor of two refs (where a branch left the other)."""
        self.resolve(one), self.resolve(other)  # an unknown ref: the message that says why
        return self.git.run("merge-base", one, other).decode().strip()

    def default_branch(self) -> str:
        """The ref of the default branch: origin's HEAD, else origin/main, main, master."""
        remote_head = self.git.symbolic_ref("refs/remotes/origin/HEAD", short=True)
        if remote_head:
            return remote_head
        for candidate in ("origin/main", "origin/master", "main", "master"):
            try:
                self.resolve(candidate)
            except GitError:
                continue
            return candidate
        raise GitError("no default branch found (origin/HEAD, main or master): pass --base REF")

    def has_commits(self) -> bool:
        return self.is_git and self.git.has_commits()

    def read_blobs(self, blobs: Iterable[str]) -> dict[str, bytes]:
        return self.git.read_blobs(blobs)

    # -- indexes --------------------------------------------------------------------------

    def index(self, ref: str | None = WORKTREE) -> tuple[dict[str, Entry], list[Problem]]:
        """Name -> Entry for every prompt file at `ref` (None: the working tree)."""
        files = self._worktree_files() if ref is None else self._ref_files(ref)
        entries: dict[str, Entry] = {}
        problems: list[Problem] = []
        by_name: dict[str, str] = {}
        for relative, path, blob in files:
            name = name_for(relative)
            if name is None:
                continue
            if not is_valid_name(name):
                problems.append(
                    Problem(
                        f"{name!r} is not a valid prompt name: use lowercase letters, digits, "
                        "`-`, `_`, `.` and `/` for folders (rename the file)",
                        path,
                        None,
                        "name",
                        name,
                    )
                )
                continue
            if name in by_name:
                problems.append(
                    Problem(
                        f"two files define prompt {name!r}: {by_name[name]} and {path} "
                        "(keep one of them)",
                        path,
                        None,
                        "name-clash",
                        name,
                    )
                )
                continue
            by_name[name] = path
            entries[name] = Entry(name, path, blob)
        return entries, problems

    def display_path(self, shown: str) -> Path:
        """The file behind a path as problems show it (relative to the git root)."""
        return (self.git_root or self.prompts_path.parent).joinpath(shown).resolve()

    def _relative_display(self, file: Path) -> str:
        base = self.git_root or self.prompts_path.parent
        try:
            return file.relative_to(base).as_posix()
        except ValueError:
            return file.as_posix()

    def _worktree_files(self) -> list[tuple[str, str, str]]:
        if not self.prompts_path.is_dir():
            return []
        # String operations, not pathlib: this runs for every file of a large repository.
        root = str(self.prompts_path)
        display = self._relative_display(self.prompts_path)
        display = "" if display == "." else display + "/"
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            # Not into hidden folders, nor into another repository (a parent folder's walk).
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".") and not os.path.exists(os.path.join(dirpath, d, ".git"))
            )
            folder = dirpath[len(root) + 1 :].replace(os.sep, "/")
            folder = folder + "/" if folder else ""
            for filename in sorted(filenames):
                if not filename.endswith(SUFFIXES):
                    continue
                relative = folder + filename
                files.append((relative, display + relative, ""))
        return files

    def _ref_files(self, ref: str) -> list[tuple[str, str, str]]:
        commit = self.resolve(ref)
        if commit not in self._trees:
            self._trees[commit] = self._list_tree(commit)
        return self._trees[commit]

    def _list_tree(self, commit: str) -> list[tuple[str, str, str]]:
        prefix = self.prompts_rel
        files = []
        for path, blob in self.git.tree_files(commit, prefix):
            relative = path[len(prefix) + 1 :] if prefix else path
            files.append((relative, path, blob))
        return files

    def sibling_files(
        self, folder: str, suffixes: tuple[str, ...], ref: str | None = WORKTREE
    ) -> list[tuple[str, str, bytes]]:
        """(path below `folder`, display path, bytes) of the files in `root/folder` at `ref`:
        the same working-tree-or-commit reading as prompts, for datasets and the like."""
        base = self.root / folder
        if ref is None:
            if not base.is_dir():
                return []
            files = []
            for file in sorted(base.rglob("*")):
                relative = file.relative_to(base).as_posix()
                if file.is_file() and relative.endswith(suffixes) and not relative.startswith("."):
                    files.append((relative, self._relative_display(file), file.read_bytes()))
            return files
        commit = self.resolve(ref)
        prefix = base.relative_to(self.require_git()).as_posix()
        listed = [
            (path[len(prefix) + 1 :], path, blob)
            for path, blob in self.git.tree_files(commit, prefix)
            if path.endswith(suffixes)
        ]
        blobs = self.read_blobs(blob for _, _, blob in listed)
        return [(relative, path, blobs[blob]) for relative, path, blob in listed]

    # -- loading --------------------------------------------------------------------------

    def load(self, ref: str | None = WORKTREE, names: Iterable[str] | None = None) -> PromptSet:
        """Parse the prompts at `ref` (all, or only `names`); problems are collected, not raised."""
        entries, problems = self.index(ref)
        wanted = entries if names is None else {n: entries[n] for n in names if n in entries}
        result = PromptSet(ref, problems=list(problems))
        blobs = {} if ref is None else self.read_blobs(e.blob for e in wanted.values())
        with _gc_paused():
            self._parse_into(result, wanted, blobs, ref)
        return result

    def _parse_into(
        self, result: PromptSet, wanted: dict[str, Entry], blobs: dict[str, bytes], ref: str | None
    ) -> None:
        for name, entry in wanted.items():
            data = blobs[entry.blob] if ref is not None else self._read_worktree(entry)
            try:
                result.prompts[name] = parse_prompt(data, name, entry.path, entry.blob or None)
            except PromptFileError as exc:
                result.problems.append(
                    Problem(exc.problem.message, entry.path, exc.problem.line, "syntax", name)
                )
            except SchemaProblems as exc:
                result.problems.extend(exc.problems)

    def _read_worktree(self, entry: Entry) -> bytes:
        base = self.git_root or self.prompts_path.parent
        path = os.path.join(base, entry.path)
        if os.path.islink(path):
            # A pull request could link prompts/x.yaml to a secret on the CI machine.
            target = os.path.realpath(path)
            root = os.path.realpath(base)
            if os.path.commonpath([root, target]) != root:
                raise PromptFileError(
                    "a symbolic link to a file outside the repository; prompt files must "
                    "live in it (replace the link with the file)",
                    entry.path,
                )
        with open(path, "rb") as handle:
            check_size(os.fstat(handle.fileno()).st_size, entry.path)
            return handle.read()

    def worktree_index_with_blobs(self) -> dict[str, Entry]:
        """The working-tree index with real blob ids.

        Files git knows to be unchanged since they were staged take their blob id from
        git's index (as `git status` does); only the others are read and hashed.
        """
        entries, _ = self.index(WORKTREE)
        base = self.git_root or self.prompts_path.parent
        known = self.git.unchanged_staged_blobs(self.prompts_rel) if self.is_git else {}
        result = {}
        for name, e in entries.items():
            blob = known.get(e.path)
            if blob is None:
                with open(os.path.join(base, e.path), "rb") as handle:
                    blob = git_blob_id(handle.read())
            result[name] = Entry(name, e.path, blob)
        return result

    def changed(
        self, base: str, head: str | None = WORKTREE
    ) -> tuple[set[str], set[str], set[str]]:
        """(added, removed, modified) prompt names between two refs, from indexes alone."""
        old, _ = self.index(base)
        new = self.worktree_index_with_blobs() if head is None else self.index(head)[0]
        added = set(new) - set(old)
        removed = set(old) - set(new)
        modified = {n for n in set(old) & set(new) if old[n].blob != new[n].blob}
        return added, removed, modified

    # -- history --------------------------------------------------------------------------

    def blob_history(self, ref: str = "HEAD") -> dict[str, list[tuple[Commit, str]]]:
        """Name -> [(commit, blob)] oldest first, for every content a prompt file ever had.

        One `git log` over the prompts folder; no file is parsed. A merge commit counts
        where its file differs from every parent (both sides edited it): that content
        exists in no other commit (e.g. the merge of a pull request that CI checks out).
        """
        if not self.has_commits():
            return {}
        commit = self.resolve(ref)
        prefix = self.prompts_rel
        history: dict[str, list[tuple[Commit, str]]] = {}
        for info, path, blob in self.git.file_versions(commit, prefix):
            name = name_for(path[len(prefix) + 1 :] if prefix else path)
            if name is None:
                continue
            seen = history.setdefault(name, [])
            if not seen or seen[-1][1] != blob:
                seen.append((info, blob))
        return history

    def history(
        self, names: Iterable[str] | None = None, ref: str = "HEAD"
    ) -> dict[str, list[HistoryEntry]]:
        """Name -> every content the prompt had in git, oldest first, parsed."""
        blobs = self.blob_history(ref)
        if names is not None:
            wanted = set(names)
            blobs = {n: h for n, h in blobs.items() if n in wanted}
        data = self.read_blobs(blob for entries in blobs.values() for _, blob in entries)
        prefix = self.prompts_rel
        result: dict[str, list[HistoryEntry]] = {}
        for name, entries in blobs.items():
            path = self._path_for(name, prefix)
            parsed = []
            for commit, blob in entries:
                try:
                    prompt: LoadedPrompt | None = parse_prompt(data[blob], name, path, blob)
                except (PromptFileError, SchemaProblems):
                    prompt = None
                parsed.append(HistoryEntry(name, commit, blob, prompt))
            result[name] = parsed
        return result

    @staticmethod
    def _path_for(name: str, prefix: str) -> str:
        return str(PurePosixPath(prefix, name + ".yaml")) if prefix else name + ".yaml"


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing allocates a million small acyclic objects; the cyclic collector would scan
    them again and again (a third of the time of loading 10,000 files)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# What a version number means in git: the *last* content committed under it. A branch
# may commit drafts of a new version before the final one is merged and published;
# `validate` (VersionHistory.content) and `publish` (pins, drift) read history the same way.


def versions_in_history(entries: Iterable[HistoryEntry]) -> dict[int, str]:
    """Version number -> content hash, the last content committed under each number."""
    seen: dict[int, str] = {}
    for entry in entries:
        if entry.prompt is not None:
            seen[entry.prompt.version] = entry.prompt.hash
    return seen


def last_with_version(entries: Iterable[HistoryEntry], version: int) -> HistoryEntry | None:
    """The last history entry (oldest-first `entries`) whose file had `version`."""
    found = None
    for entry in entries:
        if entry.prompt is not None and entry.prompt.version == version:
            found = entry
    return found
