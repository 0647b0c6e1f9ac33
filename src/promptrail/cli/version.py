"""`promptrail version`: bump each prompt whose content changed to a number never used."""

from __future__ import annotations

from typing import Annotated

import typer

from promptrail.cli.common import ApiKeyOption, RegistryOption, err
from promptrail.repo.repository import PromptRepo


def command(
    base: Annotated[
        str | None,
        typer.Option("--base", help="Compare with this git ref (default: HEAD)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if a bump is needed.")
    ] = False,
    path: Annotated[str, typer.Option("--path", help="Repository root.")] = ".",
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Set `version:` of each changed prompt to one above every version it ever had."""
    from promptrail.gitops.versioning import bump_versions, plan_bumps

    repo = PromptRepo(path)
    known = None
    if registry:  # numbers the registry knows count too (published from another branch)
        from promptrail.cli.plan import registry_client

        with registry_client(registry, api_key) as client:
            state = client.state()
        # version -> hash: iterates as the numbers; the hashes tell a reused number apart
        # from a revert to the content that number already had.
        known = {name: dict(prompt.versions) for name, prompt in state.prompts.items()}
    bumps = plan_bumps(repo, base, known) if check else bump_versions(repo, base, known)
    for bump in bumps:
        print(bump)
    if check and bumps:
        err(f"{len(bumps)} prompt(s) need a new version: run `promptrail version`")
        raise typer.Exit(1)
    if not bumps:
        err(_nothing_to_bump(repo, base))


def _nothing_to_bump(repo: PromptRepo, base: str | None) -> str:
    ref = base if base is not None else ("HEAD" if repo.has_commits() else None)
    if ref is not None:
        added, removed, modified = repo.changed(ref, None)
        if not (added or removed or modified):
            return f"no prompt changed since {ref}: nothing to version"
    return "every changed prompt already has a new version"
