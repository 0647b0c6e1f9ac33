"""The layout rules of ARCHITECTURE.md, checked on the source tree.

Each rule is a function of the package folder returning what breaks it, so the same
function runs on the real tree (nothing may break it) and on a copy broken on purpose
(it must notice): a rule that cannot fail would prove nothing.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "promptrail"
KERNEL = {
    "__init__",
    "constants",
    "content",
    "errors",
    "retry",
    "settings",
    "template",
    "units",
}
MAX_LINES = 500
SDK_ROOMS = ("client", "tracing")  # the runtime side, which the server side never imports
SERVER_ROOMS = ("server", "store", "gitops")
GIT_MODULE = "repo/git.py"
YAML_READER = "repo/yamlfile.py"
YAML_EDITOR = "repo/yaml_edit.py"


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path.relative_to(root).as_posix(), path


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def room_of(module: str) -> str:
    """`promptrail.gitops.plan` -> `gitops`; a kernel module is its own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


# -- the rules ------------------------------------------------------------------------------


def top_level_outside_kernel(root: Path) -> list[str]:
    return [p.name for p in root.glob("*.py") if p.stem not in KERNEL]


def too_long(root: Path) -> list[str]:
    found = []
    for relative, path in modules(root):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append(f"{relative}: {lines} lines")
    return found


def server_side_importing_sdk(root: Path) -> list[str]:
    found = []
    for relative, path in modules(root):
        if relative.split("/")[0] not in SERVER_ROOMS:
            continue
        for name in imported(path):
            if name.startswith("promptrail.") and room_of(name) in SDK_ROOMS:
                found.append(f"{relative} imports {name}")
    return found


def kernel_importing_upward(root: Path) -> list[str]:
    found = []
    for path in root.glob("*.py"):
        for name in imported(path):
            if name.startswith("promptrail.") and room_of(name) not in KERNEL:
                found.append(f"{path.name} imports {name}")
    return found


def git_outside_its_module(root: Path) -> list[str]:
    """Modules that run git as a subprocess: exactly the git module."""
    found = []
    for relative, path in modules(root):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        if "subprocess" in imported(path) and "git" in strings:
            found.append(relative)
    return [] if found == [GIT_MODULE] else [f"git runs in {found or 'no module'}"]


def yaml_outside_its_modules(root: Path) -> list[str]:
    """PyYAML (reading) only in yamlfile.py; ruamel.yaml (round-trip edits) only in yaml_edit."""
    found = []
    for relative, path in modules(root):
        names = imported(path)
        if any(n == "yaml" or n.startswith("yaml.") for n in names) and relative != YAML_READER:
            found.append(f"{relative} imports PyYAML")
        if any(n.startswith("ruamel") for n in names) and relative != YAML_EDITOR:
            found.append(f"{relative} imports ruamel.yaml")
    return found


RULES: dict[str, Callable[[Path], list[str]]] = {
    "only the kernel at the top": top_level_outside_kernel,
    f"no module over {MAX_LINES} lines": too_long,
    "server, store and gitops never import client or tracing": server_side_importing_sdk,
    "the kernel imports nothing above it": kernel_importing_upward,
    "git runs in one module": git_outside_its_module,
    "YAML is read in one module, edited in one": yaml_outside_its_modules,
}


@pytest.mark.parametrize("rule", RULES)
def test_the_tree_keeps_the_rule(rule: str) -> None:
    assert RULES[rule](PACKAGE) == []


# -- each rule notices a break --------------------------------------------------------------

BREAKS: dict[str, tuple[str, str]] = {  # rule -> (file, text added to it)
    "only the kernel at the top": ("plan.py", '"""A pipeline step at the top."""\n'),
    f"no module over {MAX_LINES} lines": ("repo/spec.py", "\n" * MAX_LINES),
    "server, store and gitops never import client or tracing": (
        "store/registry.py",
        "\nfrom promptrail.client import Client\n",
    ),
    "the kernel imports nothing above it": (
        "errors.py",
        "\ndef _late():\n    from promptrail.store import Store\n",
    ),
    "git runs in one module": (
        "gitops/publish.py",
        '\nimport subprocess\nsubprocess.run(["git", "status"])\n',
    ),
    "YAML is read in one module, edited in one": ("store/pricing.py", "\nimport yaml\n"),
}


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("tree") / "promptrail"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_notices_a_break(rule: str, copy: Path) -> None:
    file, added = BREAKS[rule]
    path = copy / file
    before = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text((before or "") + added, encoding="utf-8")
    try:
        assert RULES[rule](copy) != []
    finally:
        if before is None:
            path.unlink()
        else:
            path.write_text(before, encoding="utf-8")
