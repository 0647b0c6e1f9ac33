"""The pre-commit configuration `init` writes, run for real by pre-commit in a fresh repository.

The hooks come from this repository's `.pre-commit-hooks.yaml` (a clone of this checkout,
at its commit): pre-commit installs promptrail into an environment of its own, so the
repository needs no promptrail on PATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import GitRepo, run_cli

ROOT = Path(__file__).resolve().parents[3]


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # No promptrail of ours on PATH or PYTHONPATH: the hook must bring its own.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_generated_pre_commit_hooks_pass_then_catch_a_broken_prompt(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    hooks_source = tmp_path / "promptrail-src"
    git("clone", "-q", str(ROOT), str(hooks_source), cwd=tmp_path)
    commit = git("rev-parse", "HEAD", cwd=ROOT)
    git("checkout", "-q", commit, cwd=hooks_source)
    url = hooks_source.as_uri()

    result = run_cli("init", "--install", f"git+{url}@{commit}", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    repos = yaml.safe_load((git_repo.path / ".pre-commit-config.yaml").read_text())["repos"]
    assert repos[0]["repo"] == url
    assert repos[0]["rev"] == commit
    git_repo.commit("promptrail init")

    passed = pre_commit(git_repo.path, tmp_path / "pre-commit-home")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "promptrail validate" in passed.stdout
    assert "Passed" in passed.stdout

    git_repo.write("prompts/welcome.yaml", 'version: 1\nprompt: "Hello {{ user_name"\n')
    git_repo.git("add", "prompts/welcome.yaml")
    failed = pre_commit(git_repo.path, tmp_path / "pre-commit-home")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    validate_line = next(
        line for line in failed.stdout.splitlines() if "promptrail validate" in line
    )
    assert "Failed" in validate_line
    assert "prompts/welcome.yaml" in failed.stdout
