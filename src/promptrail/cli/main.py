"""Entry point: builds the Typer app and turns errors into exit codes.

Exit status: 0 fine, 1 the prompts or the registry state are wrong, 2 usage error,
130 interrupted. Anything unexpected is written to a log file, not dumped on the user.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

import typer

from promptrail.errors import ProblemsFound, PromptrailError, UsageError

app = typer.Typer(
    name="promptrail",
    help="Prompts as YAML in git: validate, diff, version, publish, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Prompts as YAML in git: validate, diff, version, publish, serve."""


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


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="promptrail")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ProblemsFound as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        sys.exit(1)
    except PromptrailError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
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
        sys.exit(3)


def _write_crash_log() -> str:
    fd, path = tempfile.mkstemp(prefix="promptrail-crash-", suffix=".log")
    with os.fdopen(fd, "w") as handle:
        handle.write(traceback.format_exc())
    return path


if __name__ == "__main__":
    main()
