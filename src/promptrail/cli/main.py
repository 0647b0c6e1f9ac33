"""Entry point: builds the Typer app and turns errors into exit codes.

Exit status, the same for every command (documented in docs/cli.md):
  0  success
  1  the checked thing failed: problems in the prompts, drift, a conflict, a gate,
     a registry that refuses the key
  2  usage: an unknown name or git ref, a missing path, a bad option
  3  the registry or an LLM endpoint could not be reached or could not answer
  4  a bug in promptrail (the traceback goes to a log file, not the terminal)
130  interrupted
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from enum import StrEnum
from typing import Annotated, Any

import typer

from promptrail import __version__
from promptrail.cli.common import set_color
from promptrail.errors import (
    GitError,
    ProblemsFound,
    PromptNotFound,
    PromptrailError,
    RegistryUnavailable,
    UsageError,
)

EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_BUG = 1, 2, 3, 4


class ColorChoice(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


app = typer.Typer(
    name="promptrail",
    help="Prompts as YAML in git: validate, diff, version, publish, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"promptrail {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    color: Annotated[
        ColorChoice,
        typer.Option(
            "--color",
            help="Colour in the output: auto (a terminal, unless NO_COLOR is set), "
            "always or never.",
        ),
    ] = ColorChoice.auto,
) -> None:
    """Prompts as YAML in git: validate, diff, version, publish, serve.

    Example: promptrail validate && promptrail diff origin/main
    """
    set_color(color.value)


def _register() -> None:
    # Each subcommand lives in its own module; the import is cheap (heavy work is imported
    # inside the command functions).
    from promptrail.cli import render

    app.command("render")(render.command)
    from promptrail.cli import validate

    app.command("validate")(validate.command)
    from promptrail.cli import diff

    app.command("diff")(diff.command)
    from promptrail.cli import version

    app.command("version")(version.command)
    from promptrail.cli import label

    app.add_typer(label.app, name="label")
    from promptrail.cli import schema

    app.command("schema")(schema.command)
    from promptrail.cli import plan, publish

    app.command("plan")(plan.command)
    app.command("publish")(publish.command)
    from promptrail.cli import comment, init

    app.command("init")(init.command)
    app.command("comment")(comment.command)
    from promptrail.cli import snapshot

    app.command("snapshot")(snapshot.command)
    from promptrail.cli import db, get, keys, serve

    app.command("serve")(serve.command)
    app.command("get")(get.command)
    app.add_typer(keys.app, name="keys")
    app.add_typer(db.app, name="db")
    from promptrail.cli import importer

    app.add_typer(importer.app, name="import")
    from promptrail.cli import eval as eval_command

    app.command("eval")(eval_command.command)


_register()


# One example per command, shown at the end of its --help (keys: the command's path).
EXAMPLES = {
    "render": "promptrail render support/triage --var product=Acme --var ticket='Charged twice'",
    "validate": "promptrail validate --base origin/main --format github",
    "diff": "promptrail diff origin/main --format markdown > comment.md",
    "version": "promptrail version --base origin/main",
    "schema": "promptrail schema > .promptrail/prompt.schema.json",
    "plan": "promptrail plan --check --registry https://prompts.example.com",
    "publish": "promptrail publish --dry-run",
    "init": "promptrail init . --install git+https://github.com/ORG/promptrail@v0.1.0",
    "comment": "promptrail comment --diff origin/main",
    "snapshot": "promptrail snapshot --label production -o prompts.snapshot.json",
    "serve": "promptrail serve --port 8700 --db sqlite:///.promptrail/registry.db",
    "get": "promptrail get support/triage --label staging",
    "label set": "promptrail label set summarize production 2",
    "label rm": "promptrail label rm summarize staging",
    "keys create": "promptrail keys create --scope publish --description 'CI previews'",
    "keys list": "promptrail keys list --json",
    "keys revoke": "promptrail keys revoke 3",
    "db upgrade": "promptrail db upgrade --db postgresql://app@db/prompts",
    "db current": "promptrail db current",
    "eval": "promptrail eval support/triage --dataset triage --concurrency 8",
    "import langfuse": "promptrail import langfuse --host https://cloud.langfuse.com",
}


def _tidy_help(command: Any, path: str = "") -> None:
    """Help that reads well: `--base BASE` instead of the parameter's Python type (`<str>`,
    `<list[str]>`; choices such as `<text|json>` and flags keep their display), and each
    command listed with its whole first paragraph instead of one cut off at 45 columns."""
    example = EXAMPLES.get(path)
    if example and not command.epilog:
        command.epilog = f"Example:  {example}"
    if command.help and not command.short_help:
        command.short_help = " ".join(command.help.split("\n\n", 1)[0].split())
    for param in command.params:
        descriptor = getattr(param, "type_descriptor", None)
        named = param.metavar is not None or bool(descriptor and descriptor.is_choice)
        if not named and not getattr(param, "is_flag", False) and param.name:
            param.metavar = param.name.upper()
            if param.param_type_name == "argument":
                param.display_type_rich = lambda ctx: None  # the name says it: NAME, PATH
    for name, sub in getattr(command, "commands", {}).items():
        _tidy_help(sub, f"{path} {name}".strip())


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    _tidy_help(command)
    try:
        command.main(args=argv, prog_name="promptrail")
    except ProblemsFound as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except PromptrailError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exit_status(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        log = _write_crash_log()
        print(
            f"error: unexpected {type(exc).__name__}: {exc}\n"
            f"This is a bug in promptrail; the details are in {log}",
            file=sys.stderr,
        )
        sys.exit(EXIT_BUG)


def exit_status(exc: PromptrailError) -> int:
    """The documented exit status for a domain error (see the module docstring)."""
    # An unknown ref or a folder outside git is the caller's to fix, like a missing path.
    if isinstance(exc, UsageError | PromptNotFound | GitError):
        return EXIT_USAGE
    if isinstance(exc, RegistryUnavailable):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


def _write_crash_log() -> str:
    fd, path = tempfile.mkstemp(prefix="promptrail-crash-", suffix=".log")
    with os.fdopen(fd, "w") as handle:
        handle.write(traceback.format_exc())
    return path


if __name__ == "__main__":
    main()
