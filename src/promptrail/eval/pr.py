"""`promptrail eval --base REF`: every changed prompt, before and after, on the same items.

A prompt is evaluated again when, between the base and the head (a ref, or the working
tree), its content, one of its `evals:` entries (evaluators, gate, samples), the dataset
that entry names, or a judge prompt it uses changed. Both sides run with the *head's*
dataset, evaluators and samples, so the two runs differ only in the prompt: the model
and parameters come from each side's own config.

The base side is often known already: a run the registry holds for the same prompt
content, dataset content, evaluators, samples, model and parameters is reused instead of
re-run (`run_key`). Everything else goes through the response cache, so an unchanged side
costs no call and a second run of the same pull request makes none at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from promptrail.api.eval import RunPrompt, RunResult
from promptrail.content import content_hash
from promptrail.errors import RegistryError
from promptrail.eval import prgate
from promptrail.eval.paired import changed_items, compare_runs
from promptrail.eval.prompts import parameters
from promptrail.eval.runner import RunPlan, Target, run
from promptrail.eval.setup import EvalOptions, prepare
from promptrail.repo.datasets import load_datasets
from promptrail.repo.repository import PromptRepo, PromptSet
from promptrail.repo.spec import EvalBlock, GateRule

if TYPE_CHECKING:
    from promptrail.api.client import RegistryClient

REUSE_CANDIDATES = 20  # stored runs of a prompt and dataset looked at for a reusable base


@dataclass
class Change:
    """One prompt's `evals:` entry to evaluate on both sides, and why."""

    name: str
    dataset: str
    reasons: list[str]
    base_exists: bool
    gate: dict[str, GateRule] = field(default_factory=dict)  # the head's


@dataclass
class PrOptions:
    base: str | None = None  # None: the merge base with the default branch
    head: str | None = None  # None: the working tree
    run: EvalOptions = field(default_factory=lambda: EvalOptions(prompt=""))
    preview_label: str | None = None  # the head run is recorded against this label
    record: bool = True
    ui_url: str | None = None  # the registry's address, for links to its comparison page


def resolve_base(repo: PromptRepo, base: str | None, head: str | None) -> str:
    if base is not None:
        return base
    return repo.merge_base(repo.default_branch(), head or "HEAD")


def find_changes(repo: PromptRepo, base: str, head: str | None) -> list[Change]:
    old, new = repo.load(base), repo.load(head)
    old_data, new_data = load_datasets(repo, base), load_datasets(repo, head)
    changes = []
    for name in sorted(new.prompts):
        loaded = new.prompts[name]
        before = old.prompts.get(name)
        for block in loaded.spec.evals:
            reasons = []
            if before is None:
                reasons.append("new prompt")
            elif before.hash != loaded.hash:
                reasons.append("content")
            old_block = _block(before.spec.evals if before else [], block.dataset)
            if before is not None and (old_block is None or _differs(old_block, block)):
                reasons.append("evaluators")
            old_set, new_set = (
                old_data.datasets.get(block.dataset),
                new_data.datasets.get(block.dataset),
            )
            if before is not None and (
                old_set is None or new_set is None or old_set.hash != new_set.hash
            ):
                reasons.append("dataset")
            if before is not None and _judges_changed(block, old, new):
                reasons.append("judge")
            if reasons:
                changes.append(
                    Change(name, block.dataset, reasons, before is not None, dict(block.gate))
                )
    return changes


def _block(blocks: list[EvalBlock], dataset: str) -> EvalBlock | None:
    return next((b for b in blocks if b.dataset == dataset), None)


def _differs(old: EvalBlock, new: EvalBlock) -> bool:
    return old.model_dump() != new.model_dump()


def _judges_changed(block: EvalBlock, old: PromptSet, new: PromptSet) -> bool:
    for spec in block.evaluators:
        judge = spec.get("prompt") if spec.get("type") == "llm_judge" else None
        if isinstance(judge, str):
            before, after = old.prompts.get(judge), new.prompts.get(judge)
            if (before.hash if before else None) != (after.hash if after else None):
                return True
    return False


def run_key(run: RunResult) -> str:
    """What makes two runs of a prompt interchangeable: same inputs, same checks."""
    return _key(
        run.prompt.hash,
        run.dataset.hash,
        run.evaluators,
        run.samples,
        run.model,
        run.params,
        run.task,
    )


def plan_key(plan: RunPlan) -> str:
    """`run_key` of the run a plan would make, known before running it."""
    target = plan.target
    task = target.task.reference if target.task else None
    return _key(
        target.prompt.hash,
        plan.dataset.hash,
        plan.evaluator_specs,
        plan.samples,
        target.model,
        target.params,
        task,
    )


def _key(*parts: Any) -> str:
    names = ("prompt", "dataset", "evaluators", "samples", "model", "params", "task")
    return content_hash(dict(zip(names, parts, strict=True)))


def find_reusable(registry: RegistryClient, plan: RunPlan) -> RunResult | None:
    """A stored run with the same `run_key` as the plan, newest first."""
    target = plan.target
    try:
        listing = registry.list_runs(
            prompt=target.prompt.name,
            dataset=plan.dataset.name,
            prompt_hash=target.prompt.hash,
            dataset_hash=plan.dataset.hash,
            limit=REUSE_CANDIDATES,
        )
    except RegistryError:
        return None
    wanted = plan_key(plan)
    for summary in listing.runs:
        if summary.prompt.hash != target.prompt.hash or summary.dataset.hash != plan.dataset.hash:
            continue
        if summary.error_count:
            continue  # a run with failed calls is worth re-running
        try:
            stored = registry.get_run(summary.run_id)
        except RegistryError:
            continue
        if run_key(stored) == wanted:
            return stored
    return None


def base_plan(
    repo: PromptRepo, change: Change, options: PrOptions, base: str, like: RunPlan | None = None
) -> RunPlan:
    """The head's plan (dataset, evaluators, samples) with the base's prompt in it.

    `like`: a head plan to copy instead of preparing anew; its endpoint is the head's, so
    such a plan is only for `find_reusable`, never to run.
    """
    plan = like or prepare(repo, _run_options(change, options))
    before = repo.load(base).prompts[change.name]
    config = dict(before.spec.config)
    model = options.run.model or config.get("model") or plan.target.model
    target = Target(
        prompt=RunPrompt(
            name=before.name,
            version=before.version,
            hash=before.hash,
            source=f"git:{base}",
        ),
        spec=None if plan.target.task else before.spec,
        task=plan.target.task,
        model=model,
        params={**parameters(config), **options.run.params},
    )
    return dataclasses.replace(plan, target=target, commit=repo.resolve(base), ref=base)


def head_plan(repo: PromptRepo, change: Change, options: PrOptions) -> RunPlan:
    plan = prepare(repo, _run_options(change, options))
    if options.preview_label:
        prompt = plan.target.prompt.model_copy(update={"label": options.preview_label})
        plan.target = dataclasses.replace(plan.target, prompt=prompt)
    return plan


def _run_options(change: Change, options: PrOptions) -> EvalOptions:
    return dataclasses.replace(
        options.run, prompt=change.name, dataset=change.dataset, ref=options.head
    )


def evaluate(
    repo: PromptRepo, options: PrOptions, registry: RegistryClient | None = None
) -> dict[str, Any]:
    """The report `eval --base --format json` prints; `gate.passed` decides the exit."""
    base = resolve_base(repo, options.base, options.head)
    changes = find_changes(repo, base, options.head)
    entries = []
    calls = 0
    for change in changes:
        entry, spent = evaluate_change(repo, change, options, base, registry)
        entries.append(entry)
        calls += spent
    return {
        "base": {"ref": options.base or base, "commit": repo.resolve(base)},
        "head": {
            "ref": options.head or "working tree",
            "commit": repo.resolve(options.head) if options.head else None,
        },
        "prompts": entries,
        "gate": {"passed": all(e["gate"]["passed"] for e in entries)},
        "llm_calls": calls,
    }


def evaluate_change(
    repo: PromptRepo,
    change: Change,
    options: PrOptions,
    base: str,
    registry: RegistryClient | None,
) -> tuple[dict[str, Any], int]:
    head_side = head_plan(repo, change, options)
    base_result, reused = None, False
    calls = 0
    if change.base_exists:
        looked_up = base_plan(repo, change, options, base, like=head_side)
        found = find_reusable(registry, looked_up) if registry is not None else None
        if found is not None:
            base_result, reused = found, True
        else:
            base_result = run(base_plan(repo, change, options, base))
            calls += base_result.stats.llm_calls
            _record(registry, base_result, options)
    head_result = run(head_side)
    calls += head_result.stats.llm_calls
    _record(registry, head_result, options)

    comparison = compare_runs(base_result, head_result) if base_result else {}
    entry: dict[str, Any] = {
        "name": change.name,
        "dataset": change.dataset,
        "changed": change.reasons,
        "base": _side(base_result, reused) if base_result else None,
        "head": _side(head_result, False),
        "comparison": {name: found.as_dict() for name, found in comparison.items()},
        "gate": prgate.check(change.gate, head_result, comparison).model_dump(mode="json"),
        "changed_items": (
            [item.as_dict() for item in changed_items(base_result, head_result)]
            if base_result
            else []
        ),
        "compare_url": _compare_url(options.ui_url, base_result, head_result),
    }
    return entry, calls


def _record(registry: RegistryClient | None, result: RunResult, options: PrOptions) -> None:
    if registry is None or not options.record:
        return
    registry.create_run(result)


def _side(result: RunResult, reused: bool) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "version": result.prompt.version,
        "hash": result.prompt.hash,
        "label": result.prompt.label,
        "commit": result.commit,
        "aggregates": result.aggregates,
        "items": len(result.items),
        "errors": result.stats.errors,
        "llm_calls": 0 if reused else result.stats.llm_calls,
        "reused": reused,
    }


def _compare_url(ui: str | None, base: RunResult | None, head: RunResult) -> str | None:
    if not ui or base is None:
        return None
    query = urlencode({"base": base.run_id, "head": head.run_id})
    return f"{ui.rstrip('/')}/runs/compare?{query}"
