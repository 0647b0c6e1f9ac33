"""Options and output shared by the subcommands."""

from __future__ import annotations

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


def color_enabled() -> bool:
    return sys.stdout.isatty()
