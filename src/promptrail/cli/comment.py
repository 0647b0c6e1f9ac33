"""`promptrail comment`: post or update the one promptrail comment of a pull request."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from promptrail.cli.common import ApiKeyOption, RegistryOption, err
from promptrail.constants import COMMENT_MARKER
from promptrail.errors import UsageError
from promptrail.gitops.github import GitHub, pull_request_from_env, with_marker


def command(
    body_file: Annotated[
        Path | None,
        typer.Option("--body-file", help="The comment's Markdown (default: read stdin)."),
    ] = None,
    diff: Annotated[
        str | None,
        typer.Option(
            "--diff",
            help="Build the body: the diff from this base ref, with production numbers.",
            show_default=False,
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="With --diff: compare with this ref (default: HEAD)."),
    ] = None,
    evaluation: Annotated[
        Path | None,
        typer.Option(
            "--eval",
            help="With --diff: add the Evaluation section from this "
            "`promptrail eval --base --format json` report.",
        ),
    ] = None,
    path: Annotated[str, typer.Option("--path", help="Repository root.")] = ".",
    marker: Annotated[
        str, typer.Option("--marker", help="Finds the comment to update; kept in its body.")
    ] = COMMENT_MARKER,
    pr: Annotated[
        int | None,
        typer.Option("--pr", help="Pull request number (default: from GITHUB_EVENT_PATH)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the body; post nothing.")
    ] = False,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Post or update (found by its marker) one pull-request comment through GitHub's API."""
    if diff is not None and body_file is not None:
        raise UsageError("give --diff or --body-file, not both")
    if evaluation is not None and diff is None:
        raise UsageError("--eval goes with --diff (the comment it adds a section to)")
    if diff is not None:
        from promptrail.gitops.prcomment import build_comment

        report = _read_report(evaluation) if evaluation is not None else None
        body = build_comment(
            path, diff, head or "HEAD", registry=registry, api_key=api_key, evaluation=report
        )
    elif body_file is not None:
        try:
            body = body_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--body-file {body_file}: {exc.strerror or exc}") from None
    else:
        if sys.stdin.isatty():
            raise UsageError(
                "no comment body: pipe it in (`promptrail diff BASE --format markdown | "
                "promptrail comment`), or use --body-file F or --diff BASE"
            )
        body = sys.stdin.read()
    if not body.strip():
        raise UsageError("the comment body is empty; nothing to post")
    if dry_run:
        print(with_marker(body, marker))
        return
    target = pull_request_from_env(number=pr)
    with GitHub.from_env() as github:
        posted = github.upsert_comment(target, body, marker)
    err(f"{posted.action} comment on {target.repository}#{target.number}: {posted.url}")


def _read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--eval {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--eval {path}: not JSON ({exc})") from None
    if not isinstance(report, dict):
        raise UsageError(f"--eval {path}: expected the JSON object `promptrail eval --base` prints")
    return report
