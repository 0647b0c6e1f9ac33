"""`promptrail eval --base REF [--head REF]` and `promptrail eval PROMPT --traces`.

Registered through `promptrail eval` (cli/eval.py hands over when --base, --head or
--traces is given). Exit status: 0 the gate holds, 1 a real regression (or an evaluator
that failed its threshold), 2 usage, 3 the registry or the LLM endpoint unreachable.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from promptrail.cli.common import err
from promptrail.errors import LlmUnavailable, RegistryUnavailable, UsageError
from promptrail.eval.setup import EvalOptions

if TYPE_CHECKING:
    from promptrail.api.client import RegistryClient

UNAVAILABLE = 3


@dataclass
class PrFlags:
    base: str | None
    head: str | None
    preview_label: str | None
    traces: bool
    since: str
    sample: int
    prompt: str | None
    all_prompts: bool = False


def command(
    flags: PrFlags,
    options: EvalOptions,
    output_format: str,
    path: str,
    registry: str | None,
    api_key: str | None,
    no_record: bool,
) -> None:
    from promptrail.cli.eval import registry_session

    if flags.traces:
        if flags.base is not None or flags.head is not None:
            raise UsageError("--traces scores production; --base compares git refs: pick one")
        if flags.prompt is None and not flags.all_prompts:
            raise UsageError(
                "--traces needs the PROMPT whose generations to score (or --all for every "
                "prompt with evals:)"
            )
        if flags.prompt is not None and flags.all_prompts:
            raise UsageError(f"--all scores every prompt with evals:; drop {flags.prompt!r}")
    elif flags.prompt is not None:
        raise UsageError(
            f"--base evaluates every changed prompt; drop {flags.prompt!r} "
            "(or use --ref to evaluate one prompt at a ref)"
        )
    with registry_session(registry, api_key) as client:
        try:
            if flags.traces:
                if client is None:
                    raise UsageError(
                        "--traces reads the registry: set --registry or PROMPTRAIL_URL"
                    )
                report = _traces(client, flags, options, path)
            else:
                report = _compare(flags, options, path, client, registry, no_record)
        except (LlmUnavailable, RegistryUnavailable) as exc:
            err(f"error: {exc}")
            raise typer.Exit(UNAVAILABLE) from None
    if output_format == "json":
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        from promptrail.eval.prview import render_text

        print(render_text(report))
    if not report["gate"]["passed"]:
        raise typer.Exit(1)


def _traces(
    client: RegistryClient, flags: PrFlags, options: EvalOptions, path: str
) -> dict[str, Any]:
    from promptrail.eval.live import score_traces

    if not flags.all_prompts:
        return score_traces(client, options, since=flags.since, sample=flags.sample, path=path)
    from promptrail.repo.repository import PromptRepo

    tree = PromptRepo(path).load(None)
    names = sorted(name for name, loaded in tree.prompts.items() if loaded.spec.evals)
    reports = [
        score_traces(
            client,
            dataclasses.replace(options, prompt=name),
            since=flags.since,
            sample=flags.sample,
            path=path,
        )
        for name in names
    ]
    return {"scored_prompts": names, "prompts": reports, "gate": {"passed": True}}


def _compare(
    flags: PrFlags,
    options: EvalOptions,
    path: str,
    client: object,
    registry: str | None,
    no_record: bool,
) -> dict[str, object]:
    from promptrail.eval.pr import PrOptions, evaluate
    from promptrail.repo.repository import PromptRepo

    pr = PrOptions(
        base=flags.base,
        head=flags.head,
        run=options,
        preview_label=flags.preview_label,
        record=not no_record,
        ui_url=registry,
    )
    return evaluate(PromptRepo(path), pr, client)  # type: ignore[arg-type]
