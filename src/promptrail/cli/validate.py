"""`promptrail validate [PATH]`: every rule, every problem, one run."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from promptrail.cli.common import ApiKeyOption, RegistryOption
from promptrail.errors import UsageError


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


def command(
    path: Annotated[
        str, typer.Argument(help="Repository root (holding prompts/) or the prompts folder.")
    ] = ".",
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Compare with this git ref: content changed since it needs a higher version.",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            help="Output: text, json or github (annotations).",
        ),
    ] = ReportFormat.text,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Check prompt files: schema, templates, labels, version rules (exit 1 on errors)."""
    from promptrail.gitops.report import FORMATS, report
    from promptrail.gitops.validate import validate
    from promptrail.repo.repository import PromptRepo

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    state = None
    if registry:
        from promptrail.api.client import RegistryClient

        with RegistryClient(registry, api_key) as client:
            state = client.state()
    repo = PromptRepo(path)
    problems = validate(repo, base=base, registry_state=state)
    checked = len(repo.index()[0]) if not problems else None
    raise typer.Exit(report(problems, fmt, checked=checked))
