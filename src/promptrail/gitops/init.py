"""`promptrail init`: turn a repository into a prompt repository.

Writes an example prompt, the GitHub workflows of the GitOps loop, the pre-commit hooks,
`.gitignore` lines for the local databases and a README section. New files are simply
created; a file that already exists is only changed after the caller's `confirm` says
yes, so nothing a user wrote is lost. Running it twice changes nothing the second time.

The workflows come from templates shipped in the package (`templates/init/`); this
repository's own `.github/workflows/prompts-*.yml` are rendered from the same templates.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata, resources
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
GITIGNORE = ".gitignore"
# `.promptrail/` holds the editor schema, which is committed, beside local databases.
IGNORED = ".promptrail/*.db*", ".promptrail/*.sqlite*"
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
    install: InstallSource | None = None  # None only before plan_init sets it
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
    install: InstallSource | None = None


# -- templates ------------------------------------------------------------------------------


def template_text(relative: str) -> str:
    """A file of `templates/init/`, as shipped in the package."""
    resource = resources.files("promptrail.gitops").joinpath(
        "templates", "init", *relative.split("/")
    )
    return resource.read_text(encoding="utf-8")


def render_workflow(template: str, *, install: str, branch: str = DEFAULT_BRANCH) -> str:
    """A workflow template with its install spec and main branch filled in."""
    text = template_text(f"workflows/{template}")
    return text.replace("@PROMPTRAIL_INSTALL@", shlex.quote(install)).replace(
        "@MAIN_BRANCH@", branch
    )


# -- the install source ---------------------------------------------------------------------

PACKAGE = "promptrail"
_VERSION = re.compile(r"\d+(\.\d+)*([a-z]+\d+)?(\.post\d+)?(\.dev\d+)?")
INSTALL_HELP = (
    "--install takes `pypi` or `pypi:VERSION` (the package index), "
    "`git+https://HOST/PATH@TAG` (a git URL at a tag or commit), "
    "or the path of a folder inside the repository holding promptrail's pyproject.toml"
)


@dataclass(frozen=True)
class InstallSource:
    """Where CI and pre-commit get promptrail from, as `--install` names it."""

    spec: str  # what the user passes to --install to get this again
    pip: str  # the argument of `pip install` in the workflows
    label: str  # one line for init's summary
    hook_repo: str | None = None  # a git URL pre-commit clones for .pre-commit-hooks.yaml
    hook_rev: str | None = None
    warning: str = ""  # why this default may not be what the user wants


def parse_install(spec: str, root: Path) -> InstallSource:
    """`spec` checked as far as it can be offline; UsageError naming what is wrong."""
    spec = spec.strip()
    if spec == "pypi" or spec.startswith("pypi:"):
        version = spec.partition(":")[2]
        if spec.startswith("pypi:") and not _VERSION.fullmatch(version):
            raise UsageError(f"--install {spec}: {version!r} is not a version like 0.1.0")
        pip = f"{PACKAGE}=={version}" if version else PACKAGE
        where = f"promptrail {version}" if version else "the newest promptrail"
        return InstallSource(spec, pip, f"{where} from the package index ({pip})")
    if spec.startswith("git+"):
        url, at, ref = spec[len("git+") :].rpartition("@")
        if not at or not ref or "/" in ref or not url or "://" not in url:
            raise UsageError(
                f"--install {spec}: a git URL needs a scheme and a tag or commit at its end, "
                "e.g. git+https://github.com/OWNER/promptrail@v0.1.0"
            )
        return InstallSource(
            spec, f"{PACKAGE} @ {spec}", f"promptrail from {url} at {ref}", url, ref
        )
    folder = (root / spec).resolve()
    if not folder.is_relative_to(root):
        raise UsageError(f"--install {spec}: {folder} is outside {root}; CI checks out only {root}")
    if not (folder / "pyproject.toml").is_file():
        problem = "does not exist" if not folder.exists() else "holds no pyproject.toml"
        raise UsageError(f"--install {spec}: {folder} {problem}. {INSTALL_HELP}")
    relative = folder.relative_to(root).as_posix()
    pip = "." if relative == "." else f"./{relative}"
    return InstallSource(spec, pip, f"promptrail from the folder {relative}/ of this repository")


def default_install(root: Path) -> InstallSource:
    """How the running promptrail was installed, when CI can install it the same way.

    A VCS install (PEP 610's direct_url.json) is reused at its exact commit; an index
    install (no direct_url.json) is pinned to its version. A local folder, editable or
    not, is out of CI's reach: then the index at this version, with a warning to say so.
    """
    direct = _direct_url()
    vcs = direct.get("vcs_info") if direct else None
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        return parse_install(f"git+{direct['url']}@{vcs['commit_id']}", root)  # type: ignore[index]
    source = parse_install(f"pypi:{__version__}", root)
    if direct is None:
        return source
    where = str(direct.get("url", "a local file"))
    return InstallSource(
        source.spec,
        source.pip,
        source.label + " (a fallback)",
        warning=(
            f"this promptrail was installed from {where}, which CI cannot reach, so the "
            f"workflows install {source.pip} from the package index; if that release is not "
            f"there, choose another source: {INSTALL_HELP}"
        ),
    )


def _direct_url() -> dict[str, object] | None:
    try:
        text = metadata.distribution(PACKAGE).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    loaded = json.loads(text)
    return loaded if isinstance(loaded, dict) else None


# -- planning -------------------------------------------------------------------------------


def plan_init(
    root: str | Path = ".", *, install: str | None = None, branch: str | None = None
) -> InitPlan:
    """What `init` would write in `root`; reads files, writes nothing."""
    root = Path(root).resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file; give the repository's folder")
    source = parse_install(install, root) if install is not None else default_install(root)
    plan = InitPlan(root, source)
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
        text = render_workflow(template, install=source.pip, branch=branch)
        _plan_file(plan, relative, text, "the promptrail workflow")
    _plan_pre_commit(plan, source)
    _plan_gitignore(plan)
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


def pre_commit_entry(source: InstallSource) -> str:
    """The `repos:` entry for the hooks: this project's .pre-commit-hooks.yaml when
    promptrail comes from git, else local hooks that install it the way CI does."""
    if source.hook_repo is not None and source.hook_rev is not None:
        text = template_text("pre-commit-config.yaml")
        return text.replace("@HOOK_REPO@", source.hook_repo).replace("@HOOK_REV@", source.hook_rev)
    text = template_text("pre-commit-config-local.yaml")
    if source.pip.startswith("."):
        # pre-commit installs hook dependencies outside this checkout, where the folder's
        # relative path means nothing: use the promptrail installed where you commit.
        return text.replace("@LANGUAGE@", "system").replace("@DEPENDENCIES@", "")
    dependencies = f"\n    additional_dependencies: [{json.dumps(source.pip)}]"
    return text.replace("@LANGUAGE@", "python").replace("@DEPENDENCIES@", dependencies)


def _plan_pre_commit(plan: InitPlan, source: InstallSource) -> None:
    entry = pre_commit_entry(source)
    path = plan.root / PRE_COMMIT_CONFIG
    if not path.exists():
        text = "repos:\n" + _indent_entry(entry, "  ")
        plan.changes.append(Change(PRE_COMMIT_CONFIG, "create", text, "the pre-commit hooks"))
        return
    current = _read(path)
    if any(re.search(rf"\bid:\s*{hook}\b", current) for hook in HOOK_IDS):
        plan.unchanged.append(PRE_COMMIT_CONFIG)
        if _dedent_lines(_indent_entry(entry, "")).strip() not in _dedent_lines(current):
            plan.notes.append(
                f"{PRE_COMMIT_CONFIG} has promptrail hooks set up another way; to take "
                f"promptrail from {plan.install.spec if plan.install else 'elsewhere'}, "
                f"replace their entry in `repos:` by hand with:\n{_indent_entry(entry, '  ')}"
            )
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


def _dedent_lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines())


def _plan_gitignore(plan: InitPlan) -> None:
    section = "# promptrail: the local registry database and the evaluation cache\n" + "".join(
        f"{pattern}\n" for pattern in IGNORED
    )
    path = plan.root / GITIGNORE
    if not path.exists():
        plan.changes.append(Change(GITIGNORE, "create", section, "ignore the local databases"))
        return
    current = _read(path)
    lines = {line.strip() for line in current.splitlines()}
    if all(pattern in lines for pattern in IGNORED) or ".promptrail/" in lines:
        plan.unchanged.append(GITIGNORE)
        return
    separator = "" if not current or current.endswith("\n") else "\n"
    new = current + separator + section
    plan.changes.append(
        Change(GITIGNORE, "append", new, "ignore the local databases", new[len(current) :])
    )


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
    result = InitResult(
        unchanged=list(plan.unchanged), notes=list(plan.notes), install=plan.install
    )
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
