"""`promptrail eval PROMPT --dataset NAME`: run a prompt over a dataset and score it.

Exit status: 0 the gate holds, 1 it does not (or the inputs are wrong), 2 usage,
3 the LLM endpoint or the registry could not be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from promptrail.cli.common import ApiKeyOption, PathArgument, RegistryOption, err
from promptrail.cli.eval_options import (
    AllOption,
    BaseOption,
    HeadOption,
    PreviewLabelOption,
    SampleOption,
    SinceOption,
    TracesOption,
)
from promptrail.errors import LlmUnavailable, RegistryUnavailable, UsageError

if TYPE_CHECKING:
    from promptrail.api.client import RegistryClient
    from promptrail.api.eval import RunResult

UNAVAILABLE = 3


class EvalFormat(StrEnum):
    table = "table"
    json = "json"


def command(
    prompt: Annotated[
        str | None,
        typer.Argument(help="Prompt name, e.g. support/triage (not with --base/--traces)."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset", "-d", help="Dataset name (datasets/NAME.yaml).", show_default=False
        ),
    ] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Evaluate the prompt at this git ref.")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Evaluate the registry version with this label.")
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Evaluate this registry version.")
    ] = None,
    task: Annotated[
        str | None,
        typer.Option("--task", help="Evaluate your function `module:function` instead."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Override the prompt's config.model.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Override a model parameter: key=value (JSON value)."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL)."),
    ] = None,
    openai_key: Annotated[
        str | None,
        typer.Option("--openai-api-key", help="Key for the endpoint (env OPENAI_API_KEY)."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, help="Items in flight at once.")
    ] = 8,
    samples: Annotated[
        int | None, typer.Option("--samples", min=1, max=100, help="Runs per item.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Call the endpoint even for cached answers.")
    ] = False,
    cache: Annotated[
        str | None,
        typer.Option("--cache", help="Cache file (default .promptrail/eval-cache.sqlite)."),
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", min=0, help="Refuse to start when the estimate exceeds USD."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per call.")] = 60.0,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries of a 429/5xx/dropped call.")
    ] = 4,
    name: Annotated[str | None, typer.Option("--name", help="A name for this run.")] = None,
    output_format: Annotated[
        EvalFormat, typer.Option("--format", help="A table for people, or JSON for scripts.")
    ] = EvalFormat.table,
    no_record: Annotated[
        bool, typer.Option("--no-record", help="Do not store the run in the registry.")
    ] = False,
    base: BaseOption = None,
    head: HeadOption = None,
    preview_label: PreviewLabelOption = None,
    traces: TracesOption = False,
    all_prompts: AllOption = False,
    since: SinceOption = "24h",
    sample: SampleOption = 100,
    path: PathArgument = ".",
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Run PROMPT over a dataset, score every answer, and check the gate.

    With --base, every prompt changed since REF, before and after; with --traces, score
    production generations (cli/eval_pr.py)."""
    from promptrail.eval.setup import EvalOptions, prepare
    from promptrail.repo.repository import PromptRepo

    if output_format not in ("table", "json"):
        raise UsageError(f"--format is table or json, not {output_format!r}")
    if label is not None and version is not None:
        raise UsageError("give --label or --version, not both")
    options = EvalOptions(
        prompt=prompt or "",
        dataset=dataset,
        ref=ref,
        label=label,
        version=version,
        task=task,
        model=model,
        params=parse_params(param or []),
        base_url=base_url,
        api_key=openai_key,
        concurrency=concurrency,
        samples=samples,
        use_cache=not no_cache,
        cache_path=cache,
        max_cost=max_cost,
        timeout=timeout,
        retries=retries,
        name=name,
        show_progress=True,
    )
    if all_prompts and not traces:
        raise UsageError("--all goes with --traces (score every prompt's live generations)")
    if base is not None or head is not None or traces:
        from promptrail.cli import eval_pr

        pr = eval_pr.PrFlags(base, head, preview_label, traces, since, sample, prompt, all_prompts)
        eval_pr.command(pr, options, output_format, path, registry, api_key, no_record)
        return
    if prompt is None:
        raise UsageError("name the PROMPT to evaluate (or --base REF for every changed one)")
    with registry_session(registry, api_key) as client:
        try:
            plan = prepare(PromptRepo(path), options, client)
            from promptrail.eval.runner import run

            result = run(plan)
        except (LlmUnavailable, RegistryUnavailable) as exc:
            err(f"error: {exc}")
            raise typer.Exit(UNAVAILABLE) from None
        recorded = None
        if client is not None and not no_record:
            try:
                recorded = client.create_run(result)
            except RegistryUnavailable as exc:
                _print(result, output_format)
                err(f"error: the run was not recorded: {exc}")
                raise typer.Exit(UNAVAILABLE) from None
    _print(result, output_format)
    if recorded is not None and output_format == "table":
        err(
            f"recorded in the registry as {recorded.run_id}"
            + (f": {recorded.url}" if recorded.url else "")
        )
    if not result.gate.passed:
        raise typer.Exit(1)


def parse_params(pairs: list[str]) -> dict[str, object]:
    params: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: write key=value, e.g. --param temperature=0")
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw  # a bare word is a string
    return params


@contextmanager
def registry_session(url: str | None, api_key: str | None) -> Iterator[RegistryClient | None]:
    """The registry's client for one run (None without a URL), with the run's LLM calls
    traced to that registry. After it both are closed, the traces flushed, and the
    process's own tracer is as it was: an in-process run leaves no export thread behind."""
    if not url:
        yield None
        return
    from promptrail.api.client import RegistryClient
    from promptrail.tracing.tracer import Tracer, installed

    client = RegistryClient(url, api_key)
    try:
        with installed(Tracer(client.url, api_key)):
            yield client
    finally:
        client.close()


def _print(result: RunResult, output_format: str) -> None:
    from promptrail.eval.table import render_table

    if output_format == "json":
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        print(render_table(result))
