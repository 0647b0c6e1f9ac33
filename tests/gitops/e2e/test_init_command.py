"""`promptrail init`: a fresh repository set up, existing files untouched unless asked."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import GitRepo, run_cli
from promptrail.gitops.init import WORKFLOWS, Change, apply_init, plan_init

CREATED = [
    "prompts/welcome.yaml",
    *WORKFLOWS.values(),
    ".pre-commit-config.yaml",
    ".gitignore",
    "README.md",
]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_init_fresh_repository_creates_a_working_prompt_repository(git_repo: GitRepo) -> None:
    result = run_cli("init", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    for relative in CREATED:
        assert (git_repo.path / relative).is_file(), relative
        assert f"created    {relative}" in result.stdout
    assert "promptrail keys create --db" in result.stdout  # next steps name the keys
    assert "PROMPTRAIL_DEPLOY_KEY" in result.stdout

    workflow = (git_repo.path / ".github/workflows/promptrail-pr.yml").read_text()
    assert "pip install promptrail==0.1.0" in workflow  # pinned to the promptrail that ran
    assert "@PROMPTRAIL_INSTALL@" not in workflow
    publish = yaml.safe_load(
        (git_repo.path / ".github/workflows/promptrail-publish.yml").read_text()
    )
    assert publish[True]["push"]["branches"] == ["main"]  # PyYAML reads `on:` as True

    hooks = yaml.safe_load((git_repo.path / ".pre-commit-config.yaml").read_text())
    ids = [h["id"] for repo in hooks["repos"] for h in repo["hooks"]]
    assert ids == ["promptrail-validate", "promptrail-version-check"]
    assert "## Prompts" in (git_repo.path / "README.md").read_text()

    # The example is a valid prompt that renders.
    git_repo.commit("promptrail init")
    assert run_cli("validate", cwd=git_repo.path).exit_code == 0
    rendered = run_cli(
        "render", "welcome", "--var", "user_name=Ada", "--var", "product=Acme", cwd=git_repo.path
    )
    assert rendered.exit_code == 0, rendered.output
    assert "Ada" in rendered.stdout


def test_init_second_run_changes_nothing(git_repo: GitRepo) -> None:
    assert run_cli("init", cwd=git_repo.path).exit_code == 0
    before = snapshot(git_repo.path)
    again = run_cli("init", "--yes", cwd=git_repo.path)
    assert again.exit_code == 0, again.output
    assert snapshot(git_repo.path) == before
    assert "created" not in again.stdout
    assert "Nothing to change" in again.stdout


def test_init_never_changes_existing_files_without_yes(git_repo: GitRepo) -> None:
    readme = git_repo.write("README.md", "# Acme\n\nOur app.\n")
    pre_commit = git_repo.write(
        ".pre-commit-config.yaml",
        """
        # our hooks
        repos:
          - repo: https://github.com/psf/black
            rev: 24.1.0
            hooks:
              - id: black
        """,
    )
    custom = git_repo.write(".github/workflows/promptrail-pr.yml", "name: ours\n")
    git_repo.write_prompt("support/triage", "version: 1\nprompt: hi\n")
    before = {p: p.read_bytes() for p in (readme, pre_commit, custom)}

    result = run_cli("init", cwd=git_repo.path)  # stdin is not a terminal: nothing is asked

    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in before} == before
    assert not (git_repo.path / "prompts/welcome.yaml").exists()  # prompts/ already had one
    assert (git_repo.path / ".github/workflows/promptrail-publish.yml").is_file()  # new: created
    for relative in ("README.md", ".pre-commit-config.yaml", ".github/workflows/promptrail-pr.yml"):
        assert f"skipped    {relative}" in result.stdout
    assert "promptrail init . --yes" in result.stdout


def test_init_yes_appends_to_existing_files_and_keeps_their_content(git_repo: GitRepo) -> None:
    git_repo.write("README.md", "# Acme\n\nOur app.\n")
    git_repo.write(
        ".pre-commit-config.yaml",
        """
        # our hooks
        repos:
            - repo: https://github.com/psf/black
              rev: 24.1.0
              hooks:
                  - id: black
        """,
    )
    original_hooks = (git_repo.path / ".pre-commit-config.yaml").read_text()

    result = run_cli("init", "--yes", cwd=git_repo.path)

    assert result.exit_code == 0, result.output
    readme = (git_repo.path / "README.md").read_text()
    assert readme.startswith("# Acme\n\nOur app.\n")
    assert "<!-- promptrail -->" in readme
    hooks_text = (git_repo.path / ".pre-commit-config.yaml").read_text()
    assert hooks_text.startswith(original_hooks)  # comments and layout kept: appended only
    repos = yaml.safe_load(hooks_text)["repos"]
    assert [r["repo"] for r in repos] == ["https://github.com/psf/black", "local"]
    assert "appended   README.md" in result.stdout


def test_init_keeps_the_local_databases_out_of_git_but_not_the_editor_schema(
    git_repo: GitRepo,
) -> None:
    git_repo.write(".gitignore", "node_modules/\n")
    assert run_cli("init", "--yes", cwd=git_repo.path).exit_code == 0
    assert (git_repo.path / ".gitignore").read_text().startswith("node_modules/\n")
    for local in ("registry.db", "registry.db-wal", "eval-cache.sqlite"):
        git_repo.write(f".promptrail/{local}", "x")
    git_repo.write(".promptrail/prompt.schema.json", "{}")
    untracked = git_repo.git("status", "--porcelain", "--untracked-files=all")
    assert ".promptrail/prompt.schema.json" in untracked
    assert ".promptrail/registry.db" not in untracked
    assert "eval-cache" not in untracked
    assert "unchanged  .gitignore" in run_cli("init", cwd=git_repo.path).stdout


def test_init_asks_before_each_change_and_respects_no(git_repo: GitRepo) -> None:
    git_repo.write("README.md", "# Acme\n")
    git_repo.write(".github/workflows/promptrail-pr.yml", "name: ours\n")
    plan = plan_init(git_repo.path)
    asked: list[Change] = []

    def confirm(change: Change) -> bool:
        asked.append(change)
        return change.relative == "README.md"

    result = apply_init(plan, confirm)

    assert sorted(c.relative for c in asked) == [".github/workflows/promptrail-pr.yml", "README.md"]
    replace = next(c for c in asked if c.action == "replace")
    assert "-name: ours" in replace.preview  # the user sees a diff before answering
    assert (git_repo.path / ".github/workflows/promptrail-pr.yml").read_text() == "name: ours\n"
    assert "<!-- promptrail -->" in (git_repo.path / "README.md").read_text()
    assert [c.relative for c in result.skipped] == [".github/workflows/promptrail-pr.yml"]


def test_init_pre_commit_config_it_cannot_append_to_is_left_alone_with_a_note(
    git_repo: GitRepo,
) -> None:
    config = git_repo.write(
        ".pre-commit-config.yaml", "repos:\n  - repo: local\n    hooks: []\nfail_fast: true\n"
    )
    before = config.read_bytes()
    result = run_cli("init", "--yes", cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == before
    assert "add this entry" in result.stdout
    assert "promptrail-validate" in result.stdout


def test_init_outside_git_says_to_git_init(tmp_path: Path) -> None:
    target = tmp_path / "new-project"
    result = run_cli("init", str(target))
    assert result.exit_code == 0, result.output
    assert (target / "prompts/welcome.yaml").is_file()
    assert "git init" in result.stdout


def test_init_uses_the_default_branch_of_origin(tmp_path: Path, git_repo: GitRepo) -> None:
    git_repo.git("checkout", "-q", "-b", "trunk")
    git_repo.commit("first")
    clone = tmp_path / "clone"
    git_repo.git("clone", "-q", str(git_repo.path), str(clone))
    result = run_cli("init", str(clone))
    assert result.exit_code == 0, result.output
    publish = yaml.safe_load((clone / ".github/workflows/promptrail-publish.yml").read_text())
    assert publish[True]["push"]["branches"] == ["trunk"]
