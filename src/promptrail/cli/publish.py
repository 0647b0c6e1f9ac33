"""`promptrail publish [PATH]`: apply the plan to the registry in one request."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from promptrail.cli.common import ApiKeyOption, PathArgument, QuietOption, RegistryOption, err
from promptrail.cli.plan import Format, registry_client
from promptrail.errors import UsageError
from promptrail.gitops.planview import plural

if TYPE_CHECKING:
    from promptrail.gitops.publish import Published, Registry
    from promptrail.repo.repository import PromptRepo


def command(
    path: PathArgument = ".",
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the plan and check it with the registry; change nothing."
        ),
    ] = False,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Rebuild an empty registry from git: publish every commit, oldest first.",
        ),
    ] = False,
    preview_label: Annotated[
        str | None,
        typer.Option(
            "--preview-label",
            "--label-prefix",  # the older spelling, kept for workflows already written
            help="Publish this branch's changed prompts under a preview label (e.g. pr-123).",
            show_default=False,
        ),
    ] = None,
    preview_all: Annotated[
        bool,
        typer.Option(
            "--all", help="With --preview-label: label every prompt, not only changed ones."
        ),
    ] = False,
    remove_preview: Annotated[
        str | None,
        typer.Option(
            "--remove-preview",
            help="Remove a preview label from every prompt (the pull request was closed).",
            show_default=False,
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove the labels of deleted prompt files.")
    ] = False,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Publish the prompts at this git ref.")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
    quiet: QuietOption = False,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Publish the prompts: create new versions and move labels, all or nothing."""
    from promptrail.gitops.publish import publish, stderr_progress
    from promptrail.repo.repository import PromptRepo

    modes = [
        flag
        for flag, on in (
            ("--history", history),
            ("--preview-label", preview_label is not None),
            ("--remove-preview", remove_preview is not None),
        )
        if on
    ]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} cannot be combined: choose one")
    if preview_all and preview_label is None:
        raise UsageError("--all goes with --preview-label")
    if (prune or ref) and (preview_label or remove_preview):
        raise UsageError("--prune and --ref do not apply to preview publishes")
    with registry_client(registry, api_key) as client:
        if remove_preview is not None:
            from promptrail.gitops.preview import remove_preview as remove

            done = remove(_optional_repo(path), client, remove_preview, dry_run=dry_run)
        elif history:
            _replay(PromptRepo(path), client, prune=prune, dry_run=dry_run, output=output)
            return
        elif preview_label is not None:
            from promptrail.gitops.preview import publish_preview

            done = publish_preview(
                PromptRepo(path),
                client,
                preview_label,
                all_prompts=preview_all,
                dry_run=dry_run,
                progress=stderr_progress,
            )
        else:
            done = publish(
                PromptRepo(path),
                client,
                ref=ref,
                prune=prune,
                dry_run=dry_run,
                progress=stderr_progress,
            )
    _show(done, output, dry_run, quiet)


def _optional_repo(path: str) -> PromptRepo | None:
    from promptrail.errors import GitError
    from promptrail.repo.repository import PromptRepo

    try:
        return PromptRepo(path)
    except GitError:
        return None


def _show(done: Published, output: Format, dry_run: bool, quiet: bool = False) -> None:
    plan, result = done.plan, done.result
    if output is Format.json:
        data = plan.as_dict()
        data["dry_run"] = dry_run
        data["source"] = done.source.model_dump()
        data["result"] = result.model_dump() if result else None
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    print(plan.render_text(quiet))
    print(outcome_line(done, dry_run))


def outcome_line(done: Published, dry_run: bool) -> str:
    plan, result, source = done.plan, done.result, done.source
    if result is None:
        return "Nothing to publish." if plan.empty else "Dry run: nothing was sent."
    if dry_run:
        return "Dry run: the registry accepts this publish; nothing was changed."
    what = []
    if result.created:
        what.append(f"{plural(len(result.created), 'version')} created")
    if result.moved:
        what.append(plural(len(result.moved), "label change"))
    if result.metadata:
        what.append(plural(len(result.metadata), "metadata update"))
    if not what:
        what.append("nothing changed (the registry already had it)")
    origin = f" from {source.commit[:7]}" if source.commit else ""
    run = f" ({source.ci_run_url})" if source.ci_run_url else ""
    number = f" #{result.publish_id}" if result.publish_id is not None else ""
    return f"Published{number}{origin}{run}: {', '.join(what)}."


def _replay(
    repo: PromptRepo, client: Registry, *, prune: bool, dry_run: bool, output: Format
) -> None:
    from promptrail.gitops.publish import stderr_progress
    from promptrail.gitops.replay import replay_history

    replay = replay_history(repo, client, prune=prune, dry_run=dry_run, progress=stderr_progress)
    versions = sum(len(p.plan.versions) for p in replay.published)
    labels = sum(len(p.plan.labels) for p in replay.published)
    if output is Format.json:
        print(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "commits": replay.commits,
                    "publishes": [
                        {
                            "commit": p.source.commit,
                            **p.plan.as_dict(),
                            "result": p.result.model_dump() if p.result else None,
                        }
                        for p in replay.published
                    ],
                    "skipped": [
                        {"commit": c.sha, "problems": [str(x) for x in problems]}
                        for c, problems in replay.skipped
                    ],
                },
                indent=2,
            )
        )
        return
    verb = "would publish" if dry_run else "published"
    print(
        f"Replayed {plural(replay.commits, 'commit')}: {verb} {len(replay.published)} of them "
        f"({plural(versions, 'version')}, {plural(labels, 'label change')})"
        + (
            f"; {len(replay.skipped)} skipped (their publish would have been refused)"
            if replay.skipped
            else ""
        )
        + "."
    )
    if replay.skipped:
        err("Skipped commits are listed above; their changes went out with the next good commit.")
