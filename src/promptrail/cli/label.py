"""`promptrail label set|rm`: move a label by editing the prompt file (review it like code)."""

from __future__ import annotations

from typing import Annotated

import typer

from promptrail.repo.repository import PromptRepo

app = typer.Typer(
    help="Move labels (promote, pin, remove) by editing prompt files.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[str, typer.Argument(help="Prompt name, e.g. support/triage.")]
LabelArgument = Annotated[str, typer.Argument(help="Label, e.g. production.")]
PathOption = Annotated[str, typer.Option("--path", help="Repository root.")]


@app.command("set")
def set_command(
    name: NameArgument,
    label: LabelArgument,
    version: Annotated[
        int | None,
        typer.Argument(help="Version to point to (default: the file's version).", min=1),
    ] = None,
    path: PathOption = ".",
) -> None:
    """Point LABEL at VERSION, e.g. `promptrail label set summarize production 2`."""
    from promptrail.gitops.versioning import set_label

    print(set_label(PromptRepo(path), name, label, version))


@app.command("rm")
def remove_command(name: NameArgument, label: LabelArgument, path: PathOption = ".") -> None:
    """Remove LABEL from the prompt (the publish removes it from the registry)."""
    from promptrail.gitops.versioning import remove_label

    print(remove_label(PromptRepo(path), name, label))
