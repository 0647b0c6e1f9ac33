"""`promptrail init`: turn a repository into a prompt repository.

Writes an example prompt, the GitHub workflows of the GitOps loop, the pre-commit hooks
and a README section. New files are simply created; a file that already exists is only
changed after the caller's `confirm` says yes, so nothing a user wrote is lost. Running
it twice changes nothing the second time.

The workflows come from templates shipped in the package (`templates/init/`); this
repository's own `.github/workflows/prompts-*.yml` are rendered from the same templates.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from promptrail import __version__
from promptrail.errors import UsageError
from promptrail.repo.git import Git, find_root

# Template file -> where `init` writes it, relative to the repository root.
WORKFLOWS = {
    "promptrail-pr.yml": ".github/workflows/promptrail-pr.yml",
    "promptrail-publish.yml": ".github/workflows/promptrail-publish.yml",
    "promptrail-pr-closed.yml": ".github/workflows/promptrail-pr-closed.yml",
}
EXAMPLE_PROMPT = "prompts/welcome.yaml"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
README = "README.md"
README_MARKER = "<!-- promptrail -->"
HOOK_IDS = ("promptrail-validate", "promptrail-version-check")
DEFAULT_BRANCH = "main"

Action = Literal["create", "append", "replace"]


@dataclass(frozen=True)
class Change:
    """One file `init` wants to write: created when absent, else only after a yes."""

    relative: str
    action: Action
    content: str  # the whole new file
    reason: str  # what the change is for, in a few words
    preview: str = ""  # what a person should see before saying yes (a diff, added text)


@dataclass
class InitPlan:
    root: Path
    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already set up
    notes: list[str] = field(default_factory=list)  # things to tell, nothing to write

    @property
    def creates(self) -> list[Change]:
        return [c for c in self.changes if c.action == "create"]

    @property
    def edits(self) -> list[Change]:
        return [c for c in self.changes if c.action != "create"]


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- templates ------------------------------------------------------------------------------


def template_text(relative: str) -> str:
    """A file of `templates/init/`, as shipped in the package."""
    resource = resources.files("promptrail.gitops").joinpath(
        "templates", "init", *relative.split("/")
    )
    return resource.read_text(encoding="utf-8")


def default_install() -> str:
    """What the workflows `pip install`: the promptrail running `init`, pinned."""
    return f"promptrail=={__version__}"


def render_workflow(template: str, *, install: str, branch: str = DEFAULT_BRANCH) -> str:
    """A workflow template with its install spec and main branch filled in."""
    text = template_text(f"workflows/{template}")
    return text.replace("@PROMPTRAIL_INSTALL@", shlex.quote(install)).replace(
        "@MAIN_BRANCH@", branch
    )


# -- planning -------------------------------------------------------------------------------


def plan_init(
    root: str | Path = ".", *, install: str | None = None, branch: str | None = None
) -> InitPlan:
    """What `init` would write in `root`; reads files, writes nothing."""
    root = Path(root).resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file; give the repository's folder")
    plan = InitPlan(root)
    git_root = find_root(root) if root.is_dir() else None
    if git_root is None:
        plan.notes.append(f"{root} is not a git repository yet: run `git init` there")
    elif git_root != root:
        plan.notes.append(
            f"{root} is inside the repository {git_root}: GitHub reads workflows only from "
            f"{git_root}/.github/workflows, so run `promptrail init {git_root}` instead"
        )
    branch = branch or _main_branch(root) or DEFAULT_BRANCH
    _plan_prompts(plan)
    for template, relative in WORKFLOWS.items():
        text = render_workflow(template, install=install or default_install(), branch=branch)
        _plan_file(plan, relative, text, "the promptrail workflow")
    _plan_pre_commit(plan)
    _plan_readme(plan)
    return plan


def _plan_prompts(plan: InitPlan) -> None:
    prompts = plan.root / "prompts"
    existing = (
        [p for p in prompts.rglob("*") if p.suffix in (".yaml", ".yml")] if prompts.is_dir() else []
    )
    if existing:
        count = f"{len(existing)} prompt file{'s' if len(existing) != 1 else ''}"
        plan.unchanged.append(f"prompts/ ({count}; no example added)")
    else:
        text = template_text(EXAMPLE_PROMPT)
        plan.changes.append(Change(EXAMPLE_PROMPT, "create", text, "an example prompt"))


def _plan_file(plan: InitPlan, relative: str, text: str, reason: str) -> None:
    path = plan.root / relative
    if not path.exists():
        plan.changes.append(Change(relative, "create", text, reason))
        return
    current = _read(path)
    if current == text:
        plan.unchanged.append(relative)
        return
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            f"{relative} (yours)",
            f"{relative} (promptrail {__version__})",
        )
    )
    plan.changes.append(
        Change(relative, "replace", text, f"replace it with {reason} of this version", diff)
    )


def _plan_pre_commit(plan: InitPlan) -> None:
    entry = template_text("pre-commit-config.yaml")
    path = plan.root / PRE_COMMIT_CONFIG
    if not path.exists():
        text = "repos:\n" + _indent_entry(entry, "  ")
        plan.changes.append(Change(PRE_COMMIT_CONFIG, "create", text, "the pre-commit hooks"))
        return
    current = _read(path)
    if any(re.search(rf"\bid:\s*{hook}\b", current) for hook in HOOK_IDS):
        plan.unchanged.append(PRE_COMMIT_CONFIG)
        return
    new = append_pre_commit_entry(current, entry)
    if new is None:
        plan.notes.append(
            f"{PRE_COMMIT_CONFIG} has no top-level `repos:` list at its end; add this entry "
            f"to its `repos:` by hand:\n{_indent_entry(entry, '  ')}"
        )
        return
    added = new[len(current) :]
    plan.changes.append(Change(PRE_COMMIT_CONFIG, "append", new, "add the promptrail hooks", added))


def append_pre_commit_entry(current: str, entry: str) -> str | None:
    """`current` with `entry` appended to its `repos:` list, the rest untouched.

    Text is appended rather than the YAML re-dumped, so the user's comments and layout
    stay as they are; that needs `repos:` to be the file's last top-level key. None when
    it is not (the caller asks the user to add the entry by hand).
    """
    lines = current.splitlines()
    top_level = [
        (i, line) for i, line in enumerate(lines) if re.match(r"[A-Za-z_][\w-]*\s*:", line)
    ]
    if not top_level or not re.match(r"repos\s*:\s*(#.*)?$", top_level[-1][1]):
        return None
    start = top_level[-1][0]
    items = [line for line in lines[start + 1 :] if re.match(r"\s*- ", line)]
    indent = re.match(r"\s*", items[0]).group(0) if items else "  "  # type: ignore[union-attr]
    body = current if current.endswith("\n") else current + "\n"
    return body + _indent_entry(entry, indent)


def _indent_entry(entry: str, indent: str) -> str:
    """The template's entry (a mapping) as one item of a YAML list at `indent`."""
    out = []
    first = True
    for line in entry.splitlines():
        if line.startswith("#"):
            out.append(f"{indent}{line}")
        elif first:
            out.append(f"{indent}- {line}")
            first = False
        else:
            out.append(f"{indent}  {line}" if line else "")
    return "\n".join(out) + "\n"


def _plan_readme(plan: InitPlan) -> None:
    section = template_text("readme-section.md")
    path = plan.root / README
    if not path.exists():
        text = f"# {plan.root.name}\n\n{section}"
        plan.changes.append(Change(README, "create", text, "a README with the prompts section"))
        return
    current = _read(path)
    if README_MARKER in current:
        plan.unchanged.append(README)
        return
    separator = "\n" if current.endswith("\n") else "\n\n"
    new = current + separator + section
    plan.changes.append(
        Change(README, "append", new, "append a section on prompts/", new[len(current) :])
    )


# -- applying -------------------------------------------------------------------------------


def apply_init(plan: InitPlan, confirm: Callable[[Change], bool]) -> InitResult:
    """Create the new files; change an existing one only when `confirm(change)` is true."""
    result = InitResult(unchanged=list(plan.unchanged), notes=list(plan.notes))
    for change in plan.changes:
        path = plan.root / change.relative
        if change.action != "create" and not confirm(change):
            result.skipped.append(change)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="" keeps the template's "\n" on every platform (the test compares bytes).
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(change.content)
        if change.action == "create":
            result.created.append(change.relative)
        else:
            result.changed.append(change)
    return result


def next_steps() -> str:
    return NEXT_STEPS


NEXT_STEPS = """\
Next steps (docs/gitops.md has each one in detail):
  1. Check the prompts locally:  promptrail validate
  2. Keys. Once, where the registry's database is reachable, an admin key:
       promptrail keys create --db DATABASE_URL --scope admin --description bootstrap
     then, with it (PROMPTRAIL_URL and PROMPTRAIL_API_KEY set to the registry and that key):
       promptrail keys create --scope deploy --description "CI main"
       promptrail keys create --scope publish --description "CI previews"
  3. In GitHub, Settings > Secrets and variables > Actions:
       variable PROMPTRAIL_URL          the registry's address, e.g. https://prompts.example.com
       secret   PROMPTRAIL_PREVIEW_KEY  the "CI previews" key (pr-<number> labels only)
     and in Settings > Environments, an environment `promptrail-deploy` limited to the
     main branch, with the secret PROMPTRAIL_DEPLOY_KEY: the "CI main" key.
  4. Commit, push, and open a pull request that changes a prompt: it gets a diff
     comment and a preview label; merging publishes.
  5. Optional: `pre-commit install` runs validate and the version check on each commit.
"""


# -- helpers --------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text; move it aside and run init again") from None


def _main_branch(root: Path) -> str | None:
    """origin's default branch when known, else the current branch if it is main/master."""
    git = Git.at(root) if root.is_dir() else None
    if git is None:
        return None
    remote_head = git.symbolic_ref("refs/remotes/origin/HEAD", short=True)
    if remote_head and "/" in remote_head:
        return remote_head.split("/", 1)[1]
    current = git.symbolic_ref("HEAD", short=True)
    return current if current in ("main", "master") else None
