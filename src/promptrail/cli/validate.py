"""`promptrail validate [PATH]`: every rule, every problem, one run."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from promptrail.cli.common import ApiKeyOption, RegistryOption
from promptrail.errors import Problem, UsageError

if TYPE_CHECKING:
    from promptrail.repo.repository import PromptRepo


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


def command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Repository root (holding prompts/), the prompts folder, or prompt files "
            "(for editors and lint-staged: only their problems are reported).",
            show_default=False,
        ),
    ] = None,
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

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    state = None
    if registry:
        from promptrail.api.client import RegistryClient

        with RegistryClient(registry, api_key) as client:
            state = client.state()
    problems: list[Problem] = []
    checked = 0
    for repo, files in _targets(paths or ["."]):
        found = validate(repo, base=base, registry_state=state)
        if files is None:
            checked += len(repo.index()[0])
        else:
            found = [p for p in found if p.file is None or repo.display_path(p.file) in files]
            checked += len(files)
        problems += found
    raise typer.Exit(report(problems, fmt, checked=checked if not problems else None))


def _targets(paths: list[str]) -> list[tuple[PromptRepo, set[Path] | None]]:
    """(repository, the files asked for or None for all) for a folder or for files."""
    from promptrail.repo.repository import PROMPTS_DIR, SUFFIXES, PromptRepo

    given = [Path(p).resolve() for p in paths]
    folders = [p for p in given if p.is_dir()]
    if folders:
        if len(given) > 1:
            raise UsageError("give one folder, or any number of prompt files, not both")
        return [(PromptRepo(folders[0]), None)]
    by_root: dict[Path, set[Path]] = {}
    for file, text in zip(given, paths, strict=True):
        if not file.exists():
            raise UsageError(f"{text}: no such file or folder")
        if not file.name.endswith(SUFFIXES):
            raise UsageError(f"{text}: not a prompt file (expected {' or '.join(SUFFIXES)})")
        holder = next((p for p in file.parents if p.name == PROMPTS_DIR), None)
        if holder is None:
            raise UsageError(f"{text}: not inside a `{PROMPTS_DIR}/` folder")
        by_root.setdefault(holder.parent, set()).add(file)
    return [(PromptRepo(root), files) for root, files in by_root.items()]
