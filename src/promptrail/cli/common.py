"""Options and output shared by the subcommands."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from promptrail import settings

RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar=settings.URL.name,
        help="Registry address, e.g. http://127.0.0.1:8700 (env PROMPTRAIL_URL).",
        show_default=False,
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Text output: only problems, drift and the summary, not every change.",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=settings.API_KEY.name,
        help="API key for the registry (env PROMPTRAIL_API_KEY).",
        show_default=False,
    ),
]
PathArgument = Annotated[
    str,
    typer.Argument(help="Repository root (holding prompts/) or the prompts folder itself."),
]


def err(message: str) -> None:
    """A message for a person, on stderr so stdout stays parseable."""
    print(message, file=sys.stderr)


# Set once by the root `--color` option; "auto" follows NO_COLOR and the terminal.
_color_choice = "auto"


def set_color(choice: str) -> None:
    global _color_choice
    _color_choice = choice


def color_enabled() -> bool:
    """Colour on stdout: `--color always|never` wins, else NO_COLOR (any value) turns it
    off, else only a terminal gets it (CI logs and pipes stay plain)."""
    if _color_choice != "auto":
        return _color_choice == "always"
    if "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != "":
        return False
    return sys.stdout.isatty()
