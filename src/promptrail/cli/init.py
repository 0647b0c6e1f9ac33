"""`promptrail init [PATH] [--yes]`: set a repository up for prompts and the GitOps loop."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from promptrail.gitops.init import Change, apply_init, next_steps, plan_init


def command(
    path: Annotated[str, typer.Argument(help="The repository's root folder.")] = ".",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Change existing files without asking.")
    ] = False,
    install: Annotated[
        str | None,
        typer.Option(
            "--install",
            help=(
                "Where CI and pre-commit get promptrail: pypi, pypi:VERSION, "
                "git+https://HOST/PATH@TAG, or a folder of this repository. Default: the way "
                "this promptrail was installed, when CI can reach it."
            ),
            show_default=False,
        ),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch",
            help="The branch whose pushes publish (default: origin's default branch, or main).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add prompts/, the GitHub workflows, pre-commit hooks and a README section."""
    plan = plan_init(path, install=install, branch=branch)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    def confirm(change: Change) -> bool:
        if yes:
            return True
        if not interactive:
            return False
        print(f"\n{change.relative} exists. Proposed change:\n{change.preview.rstrip()}\n")
        return typer.confirm(f"{change.relative}: {change.reason}?", default=False)

    result = apply_init(plan, confirm)
    print(f"promptrail init in {plan.root}")
    for relative in result.created:
        print(f"  created    {relative}")
    for change in result.changed:
        print(f"  {'appended' if change.action == 'append' else 'replaced'}   {change.relative}")
    for relative in result.unchanged:
        print(f"  unchanged  {relative}")
    for change in result.skipped:
        print(f"  skipped    {change.relative} (exists): would {change.reason}")
    if result.skipped and not interactive and not yes:
        print(
            "\nNot a terminal, so nothing that exists was changed. Skipped: "
            + ", ".join(c.relative for c in result.skipped)
            + f".\nTo apply: promptrail init {path} --yes"
        )
    for note in result.notes:
        print(f"\nnote: {note}")
    if result.install is not None:
        print(f"\nInstall source: {result.install.label}")
        if result.install.warning:
            print(f"warning: {result.install.warning}")
        print(f"To change it: promptrail init {path} --install SOURCE --yes")
    if not (result.created or result.changed or result.skipped):
        print("\nNothing to change: this repository is already set up (docs/gitops.md).")
        return
    print()
    print(next_steps(), end="")
