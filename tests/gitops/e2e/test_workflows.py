"""The workflow files, the composite action and the pre-commit hooks: lint clean, one source."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, GitRepo, run_cli
from promptrail.gitops.init import WORKFLOWS as INIT_WORKFLOWS
from promptrail.gitops.init import render_workflow

from .actions_runner import VENV_BIN, substitute
from .workflows import PROJECT_WORKFLOWS, WORKFLOWS_DIR, project_workflow

ACTION = ROOT / ".github" / "actions" / "promptrail" / "action.yml"


def actionlint() -> str:
    found = shutil.which("actionlint", path=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    if found is None:
        pytest.fail("actionlint is missing: `make install` (it is in the test extra)")
    return found


def lint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # shellcheck, when installed, checks every `run:` script as well.
    return subprocess.run(
        [actionlint(), "-no-color", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_project_workflows_are_rendered_from_the_init_templates() -> None:
    for name in PROJECT_WORKFLOWS:
        current = (WORKFLOWS_DIR / name).read_text(encoding="utf-8")
        assert current == project_workflow(name), (
            f".github/workflows/{name} differs from its template in "
            "src/promptrail/gitops/templates/init/workflows; edit the template, then run "
            "`.venv/bin/python tests/gitops/e2e/workflows.py`"
        )


def test_project_workflows_lint_clean() -> None:
    files = sorted(WORKFLOWS_DIR.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", *PROJECT_WORKFLOWS}
    result = lint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_written_by_init_lint_clean(git_repo: GitRepo) -> None:
    assert run_cli("init", "--branch", "trunk", cwd=git_repo.path).exit_code == 0
    files = [git_repo.path / relative for relative in INIT_WORKFLOWS.values()]
    result = lint(*files, cwd=git_repo.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "branches: [trunk]" in files[1].read_text()


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The lint test can fail: a typo in an expression is reported."""
    broken = (
        render_workflow("promptrail-pr.yml", install="promptrail")
        .replace("github.event.number", "github.event.numbr")
        .replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minutes: soon")
    )
    (tmp_path / "broken.yml").write_text(broken)
    result = lint(tmp_path / "broken.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "timeout-minutes" in result.stdout


def test_composite_action_is_valid_and_lints_clean_where_used(tmp_path: Path) -> None:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {
        "commands",
        "registry-url",
        "api-key",
        "base-ref",
        "version",
        "python-version",
    }
    # Installing "the promptrail of this action's ref" means the repository root.
    assert (ACTION.parent / "../../.." / "pyproject.toml").resolve() == ROOT / "pyproject.toml"
    user = tmp_path / "user-repo"
    (user / ".github" / "actions").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(user)], check=True)  # actionlint's project root
    shutil.copytree(ACTION.parent, user / ".github" / "actions" / "promptrail")
    (user / ".github" / "workflows").mkdir()
    workflow = user / ".github" / "workflows" / "prompts.yml"
    workflow.write_text(
        """
name: prompts
on: pull_request
jobs:
  review:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
        with:
          fetch-depth: 0
      - uses: ./.github/actions/promptrail
        with:
          base-ref: ${{ github.base_ref }}
          registry-url: ${{ vars.PROMPTRAIL_URL }}
          api-key: ${{ secrets.PROMPTRAIL_PREVIEW_KEY }}
          commands: |
            validate --format github --base "$PROMPTRAIL_BASE"
            comment --diff "$PROMPTRAIL_BASE"
"""
    )
    result = lint(workflow, cwd=user)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow.write_text(workflow.read_text().replace("base-ref:", "base-branch:"))
    result = lint(workflow, cwd=user)
    assert result.returncode != 0  # actionlint read the action's inputs
    assert "base-branch" in result.stdout


def action_script(name: str) -> str:
    action = yaml.safe_load(ACTION.read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("name") == name)
    return str(step["run"])


def run_action_commands(repo: Path, commands: str) -> subprocess.CompletedProcess[str]:
    script = substitute(action_script("promptrail"), {})
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ["HOME"],
        "COMMANDS": commands,
        "PROMPTRAIL_URL": "",
        "PROMPTRAIL_API_KEY": "",
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_composite_action_runs_each_command_line_and_stops_at_a_failure(
    git_repo: GitRepo,
) -> None:
    assert run_cli("init", cwd=git_repo.path).exit_code == 0
    git_repo.commit("init")
    ok = run_action_commands(
        git_repo.path,
        "validate\n\n# a comment\nrender welcome --var user_name='Ada L' --var product=Acme\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "::group::promptrail validate" in ok.stdout
    assert "Ada L" in ok.stdout  # quoting in a line works as in a shell
    failed = run_action_commands(git_repo.path, "render nosuchprompt\nvalidate\n")
    assert failed.returncode != 0
    assert "::group::promptrail validate" not in failed.stdout


def test_pre_commit_hooks_run_their_entries(git_repo: GitRepo) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["promptrail-validate", "promptrail-version-check"]
    git_repo.write_prompt("hello", "version: 1\nprompt: Hello {{name}}\n")
    git_repo.commit("hello")
    git_repo.write_prompt("hello", "version: 1\nprompt: Hi {{name}}\n")  # content, same version
    results = {}
    for hook in hooks:
        assert hook["pass_filenames"] is False
        args = hook["entry"].split()[1:]
        results[hook["id"]] = run_cli(*args, cwd=git_repo.path).exit_code
    assert results == {"promptrail-validate": 1, "promptrail-version-check": 1}
