"""The issue's "Bad input" list, end to end: a clear message, file and line, exit 1 or 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import GitRepo, run_cli

BAD_FILES = {
    "malformed": (b"version: 1\nprompt: [unclosed\n", 3, "invalid YAML"),
    "tabs": (b"version: 1\nconfig:\n\tmodel: x\n", 3, "tab character"),
    "duplicate": (b"version: 1\nprompt: a\nprompt: b\n", 3, "duplicate key 'prompt'"),
    "not-a-mapping": (b"- a\n- b\n", 1, "must be a mapping"),
    "wrong-types": (b"version: one\nprompt: x\nconfig: {model: m}\n", 1, "valid integer"),
    "latin1": (b"version: 1\nprompt: caf\xe9\n", 2, "not UTF-8"),
    "unclosed": (
        b"version: 1\nprompt: |\n  ok\n  {{ unclosed\nconfig: {model: m}\n",
        4,
        "`prompt`",
    ),
    "no-role": (b"version: 1\ntype: chat\nmessages:\n  - content: hi\n", 4, "role"),
}


@pytest.fixture
def bad_repo(git_repo: GitRepo) -> GitRepo:
    for name, (data, _, _) in BAD_FILES.items():
        (git_repo.path / "prompts").mkdir(exist_ok=True)
        (git_repo.path / f"prompts/{name}.yaml").write_bytes(data)
    git_repo.write("prompts/twice.yaml", "version: 1\nprompt: a\nconfig: {model: m}\n")
    git_repo.write("prompts/twice.yml", "version: 1\nprompt: b\nconfig: {model: m}\n")
    git_repo.commit("bad files")
    return git_repo


def test_each_bad_file_is_named_with_its_line_in_one_run(bad_repo: GitRepo) -> None:
    result = run_cli("validate", cwd=bad_repo.path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for name, (_, line, words) in BAD_FILES.items():
        matching = [x for x in result.stdout.splitlines() if x.startswith(f"prompts/{name}.yaml:")]
        assert any(f"prompts/{name}.yaml:{line}: error" in x and words in x for x in matching), (
            name,
            matching,
        )
    assert "two files define prompt 'twice'" in result.stdout


def test_diff_and_render_on_bad_files_do_not_crash(bad_repo: GitRepo) -> None:
    (bad_repo.path / "prompts/tabs.yaml").write_bytes(b"version: 2\nconfig:\n\tmodel: y\n")
    diff = run_cli("diff", "HEAD", cwd=bad_repo.path)
    assert diff.exit_code == 1
    assert "prompts/tabs.yaml:3" in diff.stdout
    render = run_cli("render", "tabs", cwd=bad_repo.path)
    assert render.exit_code == 1
    assert "prompts/tabs.yaml:3" in render.stderr
    for result in (diff, render):
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [("validate", "--base", "no-such-ref"), ("diff", "no-such-ref"), ("diff", "HEAD", "nope")],
)
def test_unknown_ref_is_named(example_repo: GitRepo, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=example_repo.path)
    assert result.exit_code == 2  # usage: the caller named something that does not exist
    assert "unknown git ref" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args", [("validate",), ("diff", "HEAD"), ("version",), ("validate", "--base", "main")]
)
def test_folder_that_is_not_a_git_repository(tmp_path: Path, args: tuple[str, ...]) -> None:
    folder = tmp_path / "plain"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts/a.yaml").write_text("version: 1\nprompt: x\nconfig: {model: m}\n")
    result = run_cli(*args, cwd=folder)
    # validate reports it among the problems it found (1); the others cannot start (usage, 2)
    assert result.exit_code == (1 if args == ("validate",) else 2)
    assert "not inside a git repository" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("diff",),
        ("validate", "--format", "yaml"),
        ("diff", "HEAD", "--format", "html"),
        ("label", "set", "customer-email"),
        ("label", "set", "customer-email", "production", "zero"),
    ],
)
def test_usage_errors_exit_2(example_repo: GitRepo, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=example_repo.path)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_empty_folder_says_where_it_looked(git_repo: GitRepo) -> None:
    result = run_cli("validate", cwd=git_repo.path)
    assert result.exit_code == 1
    assert "no prompt files under" in result.stdout
