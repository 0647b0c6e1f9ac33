"""A pull request's prompt files cannot exhaust CI or read outside the repository."""

from __future__ import annotations

import os
import time
import tracemalloc

from conftest import GitRepo, run_cli

# 437 bytes that stand for 9**9 strings once every alias is expanded.
ALIAS_BOMB = """version: 1
prompt: hi
config:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_an_alias_bomb_is_refused_quickly_and_in_little_memory(git_repo: GitRepo) -> None:
    git_repo.write_prompt("bomb", ALIAS_BOMB)
    git_repo.write_prompt(
        "fine", "version: 1\nprompt: hello\nconfig:\n  model: m\n  a: &x [1, 2]\n  b: *x\n"
    )
    git_repo.commit()
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = run_cli("validate", cwd=git_repo.path)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1, result.output
    assert "prompts/bomb.yaml" in result.output
    assert "expands to more than" in result.output
    assert "prompts/fine.yaml" not in result.output  # small aliases are fine
    assert elapsed < 10, elapsed
    assert peak < 50_000_000, f"{peak / 1e6:.0f} MB"


def test_a_huge_prompt_file_is_refused_by_validate(git_repo: GitRepo) -> None:
    git_repo.write_prompt("huge", "version: 1\nprompt: hi\n")
    with open(git_repo.path / "prompts/huge.yaml", "a") as handle:
        handle.write("description: " + "x" * 50_000_000 + "\n")
    result = run_cli("validate", cwd=git_repo.path)
    assert result.exit_code == 1, result.output[:500]
    assert "prompts/huge.yaml" in result.output
    assert "at most" in result.output


def test_a_symlink_out_of_the_repository_is_refused(
    git_repo: GitRepo, tmp_path: os.PathLike[str]
) -> None:
    secret = os.path.join(tmp_path, "secret.yaml")
    with open(secret, "w") as handle:
        handle.write("version: 1\nprompt: the deploy key is hunter2\n")
    git_repo.write_prompt("ok", "version: 1\nprompt: hello\n")
    os.symlink(secret, git_repo.path / "prompts/leak.yaml")
    os.symlink(git_repo.path / "prompts/ok.yaml", git_repo.path / "prompts/inside.yaml")
    result = run_cli("validate", cwd=git_repo.path)
    assert result.exit_code == 1, result.output
    assert "prompts/leak.yaml" in result.output
    assert "outside the repository" in result.output
    assert "hunter2" not in result.output
    assert "prompts/inside.yaml" not in result.output  # a link inside the repository is fine
