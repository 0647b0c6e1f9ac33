"""The options `promptrail eval` gains for pull requests (--base) and production (--traces)."""

from __future__ import annotations

from typing import Annotated

import typer

BaseOption = Annotated[
    str | None,
    typer.Option(
        "--base",
        help="Evaluate every prompt changed since REF, before and after "
        "(default with --head: the merge base with the default branch).",
        show_default=False,
    ),
]
HeadOption = Annotated[
    str | None,
    typer.Option("--head", help="With --base: the after side (default: the working tree)."),
]
PreviewLabelOption = Annotated[
    str | None,
    typer.Option("--preview-label", help="Record the head run against this preview label."),
]
TracesOption = Annotated[
    bool,
    typer.Option(
        "--traces", help="Score PROMPT's production generations (evaluators without expected)."
    ),
]
AllOption = Annotated[
    bool,
    typer.Option(
        "--all", help="With --traces: every prompt with evals: in the repository (no PROMPT)."
    ),
]
SinceOption = Annotated[
    str, typer.Option("--since", help="With --traces: how far back, e.g. 24h, 7d, or a date.")
]
SampleOption = Annotated[
    int, typer.Option("--sample", min=1, help="With --traces: at most this many generations.")
]
