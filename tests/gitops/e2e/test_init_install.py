"""`promptrail init --install`: where CI and pre-commit get promptrail, checked up front."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import GitRepo, run_cli
from promptrail.errors import UsageError
from promptrail.gitops.init import default_install, parse_install

WORKFLOW = ".github/workflows/promptrail-pr.yml"


def install_steps(root: Path) -> list[str]:
    """The `run:` of the workflow's "Install promptrail" steps."""
    jobs = yaml.safe_load((root / WORKFLOW).read_text())["jobs"]
    steps = [step for job in jobs.values() for step in job["steps"]]
    return [step["run"] for step in steps if step.get("name") == "Install promptrail"]


def test_index_source_pins_the_version_in_workflows_and_pre_commit(git_repo: GitRepo) -> None:
    result = run_cli("init", "--install", "pypi:0.2.1", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert install_steps(git_repo.path) == ["pip install promptrail==0.2.1"]
    hooks = yaml.safe_load((git_repo.path / ".pre-commit-config.yaml").read_text())["repos"]
    assert [h["additional_dependencies"] for h in hooks[0]["hooks"]] == [["promptrail==0.2.1"]] * 2
    assert {h["language"] for h in hooks[0]["hooks"]} == {"python"}
    assert "Install source: promptrail 0.2.1 from the package index" in result.stdout
    assert "--install SOURCE" in result.stdout  # how to change it


def test_git_source_uses_the_project_hooks_at_that_ref(git_repo: GitRepo) -> None:
    url = "https://github.com/acme/promptrail"
    result = run_cli("init", "--install", f"git+{url}@v0.1.0", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert install_steps(git_repo.path) == [f"pip install 'promptrail @ git+{url}@v0.1.0'"]
    repos = yaml.safe_load((git_repo.path / ".pre-commit-config.yaml").read_text())["repos"]
    assert repos == [
        {
            "repo": url,
            "rev": "v0.1.0",
            "hooks": [{"id": "promptrail-validate"}, {"id": "promptrail-version-check"}],
        }
    ]
    assert f"promptrail from {url} at v0.1.0" in result.stdout


def test_folder_source_installs_the_folder_and_hooks_use_the_local_promptrail(
    git_repo: GitRepo,
) -> None:
    git_repo.write("tools/promptrail/pyproject.toml", "[project]\nname = 'promptrail'\n")
    result = run_cli("init", "--install", "tools/promptrail", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert install_steps(git_repo.path) == ["pip install ./tools/promptrail"]
    hooks = yaml.safe_load((git_repo.path / ".pre-commit-config.yaml").read_text())["repos"]
    assert {h["language"] for h in hooks[0]["hooks"]} == {"system"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("pypi:latest", "'latest' is not a version"),
        ("git+https://github.com/acme/promptrail", "a tag or commit at its end"),
        ("git+https://github.com/acme/promptrail@", "a tag or commit at its end"),
        ("git+github.com/acme/promptrail@v1", "needs a scheme"),
        ("vendor/promptrail", "does not exist"),
        ("prompts", "holds no pyproject.toml"),
        ("../elsewhere", "outside"),
    ],
)
def test_malformed_source_is_refused_with_exit_2_and_nothing_written(
    git_repo: GitRepo, spec: str, message: str
) -> None:
    (git_repo.path / "prompts").mkdir()
    result = run_cli("init", "--install", spec, cwd=git_repo.path)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (git_repo.path / ".github").exists()
    assert not (git_repo.path / "README.md").exists()


def test_default_from_a_local_install_falls_back_to_the_index_and_says_so(tmp_path: Path) -> None:
    # This test venv has promptrail installed editable from a folder: CI cannot reach it.
    source = default_install(tmp_path)
    assert source.pip.startswith("promptrail==")
    assert "(a fallback)" in source.label
    assert "CI cannot reach" in source.warning
    assert "--install" in source.warning


def test_changing_the_source_of_set_up_hooks_says_what_to_replace(git_repo: GitRepo) -> None:
    assert run_cli("init", "--install", "pypi:0.1.0", cwd=git_repo.path).exit_code == 0
    config = (git_repo.path / ".pre-commit-config.yaml").read_bytes()
    again = run_cli("init", "--install", "git+https://h.example/p@v2", "--yes", cwd=git_repo.path)
    assert again.exit_code == 0, again.output
    assert (git_repo.path / ".pre-commit-config.yaml").read_bytes() == config  # never rewritten
    assert "replace their entry" in again.stdout
    assert "rev: v2" in again.stdout


def test_parse_install_accepts_ssh_and_file_git_urls(tmp_path: Path) -> None:
    ssh = parse_install("git+ssh://git@github.com/acme/promptrail@v1.0", tmp_path)
    assert (ssh.hook_repo, ssh.hook_rev) == ("ssh://git@github.com/acme/promptrail", "v1.0")
    local = parse_install("git+file:///srv/promptrail@0123abc", tmp_path)
    assert local.hook_repo == "file:///srv/promptrail"
    with pytest.raises(UsageError):
        parse_install("pypi:", tmp_path)
