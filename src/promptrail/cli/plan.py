"""`promptrail plan [PATH]`: what a publish would change in the registry, and why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from promptrail.cli.common import ApiKeyOption, PathArgument, QuietOption, RegistryOption, err
from promptrail.errors import UsageError

if TYPE_CHECKING:
    from promptrail.api.client import RegistryClient
    from promptrail.gitops.plan import Plan


class Format(StrEnum):
    text = "text"
    json = "json"


@contextmanager
def registry_client(url: str | None, api_key: str | None) -> Iterator[RegistryClient]:
    """The registry client for --registry/--api-key, closed when the command is done."""
    if not url:
        raise UsageError(
            "no registry address: pass --registry http://host:8700 or set PROMPTRAIL_URL"
        )
    from promptrail.api.client import RegistryClient

    client = RegistryClient(url, api_key)
    try:
        yield client
    finally:
        client.close()


def command(
    path: PathArgument = ".",
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 unless the registry holds exactly what git declares (drift check).",
        ),
    ] = False,
    output: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
    quiet: QuietOption = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Plan removing the labels of deleted prompt files.")
    ] = False,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Plan the prompts at this git ref.")
    ] = None,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Show what `publish` would do: versions to create, labels to add, move or remove."""
    from promptrail.gitops.publish import plan_repo, stderr_progress
    from promptrail.repo.repository import PromptRepo

    repo = PromptRepo(path)
    with registry_client(registry, api_key) as client:
        state = client.state()
    plan = plan_repo(repo, state, ref=ref, prune=prune, thorough=check, progress=stderr_progress)
    if output is Format.json:
        print(json.dumps(plan.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(plan.render_text(quiet))
    if plan.problems:
        raise typer.Exit(1)
    if check and not plan.in_sync:
        for line in drift_advice(plan):
            err(line)
        raise typer.Exit(1)


def drift_advice(plan: Plan) -> list[str]:
    """What to do about each way the registry differs from git."""
    lines = []
    if not plan.empty:
        lines.append(
            "The registry differs from git: `promptrail publish` applies the changes above."
        )
    if plan.kept:
        lines.append(
            "Deleted prompt files still have labels: `promptrail publish --prune` removes them."
        )
    if plan.drift:
        lines.append(
            "Versions published outside git stay (versions are immutable): bump past them "
            "with `promptrail version --registry URL`, commit, and publish."
        )
    return lines
