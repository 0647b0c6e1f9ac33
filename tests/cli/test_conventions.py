"""What every command shares: --version, colour choice, help text, completion, exit codes.

Exit codes (documented in docs/cli.md and cli/main.py): 0 success, 1 the checked thing
failed, 2 usage, 3 the registry or git unavailable.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import promptrail
from conftest import GitRepo, run_cli
from serverproc import ServerProcess


def _all_command_paths() -> list[list[str]]:
    import typer

    from promptrail.cli.main import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        subcommands = getattr(command, "commands", {})
        if not subcommands:
            paths.append(path)
        for name, sub in subcommands.items():
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_version_prints_the_package_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"promptrail {promptrail.__version__}"


@pytest.mark.parametrize("path", _all_command_paths(), ids=" ".join)
def test_help_names_values_and_lists_format_choices(path: list[str]) -> None:
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.output
    raw_types = re.findall(r"<(?:str|int|float|path|list\[[^\]]*\])>", result.stdout)
    assert not raw_types, f"raw Python types in `promptrail {' '.join(path)} --help`: {raw_types}"
    for line in result.stdout.splitlines():
        if line.strip().startswith("--format"):
            assert re.search(r"<[a-z]+(\|[a-z]+)+>", line), line


def test_command_list_shows_whole_first_sentences() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:", 1)[1]
    assert "..." not in commands, commands


def test_shell_completion_script_is_available() -> None:
    # The script typer generates calls back into `promptrail` with _PROMPTRAIL_COMPLETE set.
    proc = subprocess.run(
        [sys.executable, "-m", "promptrail.cli.main", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        # typer detects the shell from the parent processes unless told to take it as the
        # option's value; under a test runner the parents are no shell at all.
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "_PROMPTRAIL_COMPLETE" in proc.stdout


def test_colour_follows_no_color_and_the_color_option(
    example_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompt = example_repo.path / "prompts/customer-email.yaml"
    prompt.write_text(prompt.read_text().replace("Write a", "Please write a"))

    def diff(*options: str) -> str:
        result = run_cli(*options, "diff", "HEAD", cwd=example_repo.path)
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "\033[" in diff("--color", "always")
    assert "\033[" not in diff("--color", "never")
    assert "\033[" not in diff()  # not a terminal: auto means plain
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in diff()
    assert "\033[" in diff("--color", "always")  # an explicit choice wins over NO_COLOR


def test_unknown_prompt_is_a_usage_error_for_render_and_get(
    example_repo: GitRepo, db_url: str, tmp_path: Path
) -> None:
    assert run_cli("render", "nope", cwd=example_repo.path).exit_code == 2
    with ServerProcess(db_url, log_path=tmp_path / "server.log") as server:
        result = run_cli("get", "nope", "--registry", server.url)
    assert result.exit_code == 2, result.output
    assert "nope" in result.stderr


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("validate", str(tmp_path / "nonexistent"))
    assert result.exit_code == 2, result.output
    assert "no such file or folder" in result.stderr


def test_unreachable_registry_exits_3(example_repo: GitRepo) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = run_cli("get", "customer-email", "--registry", f"http://127.0.0.1:{port}")
    assert result.exit_code == 3, result.output


def test_db_current_exits_1_when_the_schema_needs_an_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    outdated = run_cli("db", "current", "--db", url)
    assert outdated.exit_code == 1, outdated.output
    assert "needs `promptrail db upgrade" in outdated.stdout
    assert run_cli("db", "upgrade", "--db", url).exit_code == 0
    current = run_cli("db", "current", "--db", url)
    assert current.exit_code == 0, current.output
    assert "up to date" in current.stdout


def test_serve_on_a_taken_port_fails_before_its_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "promptrail.cli.main",
                "serve",
                "--port",
                str(port),
                "--db",
                f"sqlite:///{tmp_path / 'r.db'}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "promptrail registry on" not in proc.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr


@pytest.mark.parametrize("path", _all_command_paths(), ids=" ".join)
def test_every_command_shows_an_example(path: list[str]) -> None:
    result = run_cli(*path, "--help")
    assert f"Example:  promptrail {' '.join(path)}" in result.stdout
