"""`promptrail snapshot`: write the labelled versions to a file an app boots from offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promptrail.cli.common import ApiKeyOption, RegistryOption, err
from promptrail.errors import UsageError


def command(
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            "-l",
            help="Only this label (repeat for more). Default: every label and `latest`.",
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write (atomically).")
    ] = Path("prompts.snapshot.json"),
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
    all_versions: Annotated[
        bool,
        typer.Option("--all-versions", help="Every version too, for apps that pin version=N."),
    ] = False,
    from_git: Annotated[
        bool,
        typer.Option(
            "--from-git",
            help="Read the prompt files (and git history for pinned labels), not a registry.",
        ),
    ] = False,
    path: Annotated[
        str, typer.Option("--path", help="With --from-git: the repository root.")
    ] = ".",
    ref: Annotated[
        str | None,
        typer.Option("--ref", help="With --from-git: read the files at this git ref."),
    ] = None,
) -> None:
    """Write a snapshot the runtime client serves from when the registry is out of reach."""
    from promptrail.gitops.snapshot import from_folder, from_registry, write_snapshot

    if from_git:
        built = from_folder(path, label, ref)
    else:
        if not registry:
            raise UsageError(
                "no registry: pass --registry URL (or set PROMPTRAIL_URL), "
                "or --from-git to snapshot the prompt files"
            )
        if ref:
            raise UsageError("--ref goes with --from-git")
        built = from_registry(registry, api_key, label, all_versions)
    for line in built.skipped:
        err(f"skipped {line}")
    if not built.document["prompts"]:
        wanted = f" with label {', '.join(label)}" if label else ""
        raise UsageError(f"no prompts{wanted} to snapshot; nothing written to {output}")
    write_snapshot(output, built.document)
    err(f"wrote {output}: {built.summary()}")
    print(output)
