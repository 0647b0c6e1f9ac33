"""`promptrail import langfuse`: move a Langfuse project's prompts and datasets into git."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from promptrail.cli.common import PathArgument, err
from promptrail.errors import RegistryUnavailable, UsageError

app = typer.Typer(
    help="Import prompts from another tool into this repository, as git commits.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("langfuse")
def langfuse_command(
    path: PathArgument = ".",
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            envvar="LANGFUSE_HOST",
            help="The Langfuse (or promptrail) address (env LANGFUSE_HOST).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Every prompt version as one commit (original message and date), then the current
    labels; datasets into datasets/. Keys from LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY.
    Rerunning adds only what is new."""
    from promptrail.gitops.langfuse_import import LangfuseSource, import_langfuse
    from promptrail.repo.repository import PromptRepo

    public, secret = os.environ.get("LANGFUSE_PUBLIC_KEY"), os.environ.get("LANGFUSE_SECRET_KEY")
    if not host:
        raise UsageError("give the Langfuse address with --host URL (or LANGFUSE_HOST)")
    if not public or not secret:
        raise UsageError(
            "set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY to a key pair of the project"
        )
    os.makedirs(os.path.join(path, "prompts"), exist_ok=True)
    source = LangfuseSource(host, public, secret)
    try:
        result = import_langfuse(PromptRepo(path), source, progress=err)
    except RegistryUnavailable as exc:
        err(f"error: {exc}")
        sys.exit(3)
    finally:
        source.close()
    for old, new in sorted(result.renamed.items()):
        err(f"renamed {old!r} -> {new!r} (promptrail names are lowercase; update get_prompt calls)")
    for skipped in result.skipped_labels:
        err(f"skipped label {skipped}: not a valid promptrail label")
    if not result.commits:
        print(
            f"Nothing new: {result.prompts} prompts and {result.datasets} datasets were "
            "imported before."
        )
        return
    print(
        f"Imported {result.versions} versions of {result.prompts} prompts and "
        f"{result.datasets} datasets in {len(result.commits)} commits. Review with `git log`, "
        "then `promptrail publish --history` into an empty registry rebuilds them."
    )
