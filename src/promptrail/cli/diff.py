"""`promptrail diff BASE [HEAD]`: what a pull request changes, prompt by prompt."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from promptrail.cli.common import color_enabled
from promptrail.errors import UsageError
from promptrail.repo.repository import PromptRepo


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def command(
    base: Annotated[str, typer.Argument(help="Git ref to compare from, e.g. origin/main.")],
    head: Annotated[
        str | None,
        typer.Argument(
            help="Git ref to compare to (default: the working tree).", show_default=False
        ),
    ] = None,
    fmt: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            help="Output: text, markdown (a PR comment) or json.",
        ),
    ] = DiffFormat.text,
    path: Annotated[str, typer.Option("--path", help="Repository root.")] = ".",
) -> None:
    """Show prompts added, removed and changed: text, config, labels, variables, breaking."""
    from promptrail.gitops.diff import diff_refs
    from promptrail.gitops.diffview import FORMATS, render

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    result = diff_refs(PromptRepo(path), base, head)
    print(render(result, fmt, color=fmt == "text" and color_enabled()), end="")
    raise typer.Exit(1 if any(p.error for p in result.prompts) else 0)
