"""From a repository and the options of `promptrail eval` to a RunPlan, checked whole.

What runs: the prompt in the working tree (default), at a git ref (`ref`), or a registry
version (`label` / `version`). The checks (`evals:`), the dataset and the judges come from
the same tree: the ref's when one is given, the working tree's otherwise. Everything that
can be wrong is found here, before a single call: a missing prompt or dataset, a broken
evaluator, an item lacking a variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from promptrail.api.eval import DatasetRef, RunPrompt
from promptrail.errors import Problem, ProblemsFound, UsageError
from promptrail.eval.aggregate import build_run_evaluators, gate_problems
from promptrail.eval.cache import DEFAULT_FILE, ResponseCache
from promptrail.eval.evaluators import BuildContext, SpecErrors, build
from promptrail.eval.evaluators.base import Complete
from promptrail.eval.functions import UserFunction
from promptrail.eval.llm import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Endpoint
from promptrail.eval.prompts import parameters
from promptrail.eval.runner import DEFAULT_CONCURRENCY, RunPlan, Target
from promptrail.repo.datasets import load_datasets
from promptrail.repo.promptfile import LoadedPrompt
from promptrail.repo.repository import PromptRepo
from promptrail.repo.spec import EvalBlock


@dataclass
class EvalOptions:
    prompt: str
    dataset: str | None = None
    ref: str | None = None
    label: str | None = None
    version: int | None = None
    task: str | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # override the prompt's config
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    samples: int | None = None  # None: the `evals:` entry's, else 1
    use_cache: bool = True
    cache_path: str | None = None
    max_cost: float | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    name: str | None = None
    show_progress: bool = True
    generate: bool = True  # False: scoring outputs made elsewhere (`eval --traces`)


def prepare(repo: PromptRepo, options: EvalOptions, registry: Any = None) -> RunPlan:
    if options.ref is not None and (options.label is not None or options.version is not None):
        raise UsageError("--ref evaluates git; --label/--version the registry: give one of them")
    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    tree = repo.load(options.ref)
    loaded = tree.prompts.get(options.prompt)
    own_problems = [p for p in tree.problems if p.name == options.prompt]
    if own_problems:
        raise ProblemsFound(own_problems)
    prompt, spec = _prompt_to_run(repo, options, loaded, registry)
    block = _eval_block(loaded, options)
    dataset_name = options.dataset or (block.dataset if block else None)
    if dataset_name is None:
        raise UsageError(
            f"name the dataset: --dataset NAME (prompt {options.prompt!r} has no evals:)"
        )
    datasets = load_datasets(repo, options.ref)
    bad = [p for p in datasets.problems if p.name == dataset_name]
    dataset = datasets.datasets.get(dataset_name)
    if dataset is None and not bad:
        known = ", ".join(sorted(datasets.datasets)) or "none"
        where = f"at {options.ref}" if options.ref else f"in {repo.root / 'datasets'}"
        raise UsageError(f"no dataset named {dataset_name!r} {where} (datasets: {known})")
    if bad:
        raise ProblemsFound(bad)
    assert dataset is not None

    task_ref = options.task or (block.task if block else None)
    task = None
    if task_ref:
        try:
            task = UserFunction(task_ref, repo.root)
        except ValueError as exc:
            raise UsageError(f"--task: {exc}") from None
    config = dict(spec.config) if spec is not None else {}
    model = options.model or config.get("model")
    if task is None and not model and options.generate:
        raise UsageError(
            f"prompt {options.prompt!r} names no model in `config.model`: pass --model"
        )
    endpoint = None
    if (task is None and options.generate) or _needs_endpoint(block):
        cache = None
        if options.use_cache:
            cache = ResponseCache(
                options.cache_path
                or os.environ.get("PROMPTRAIL_EVAL_CACHE")
                or repo.root / DEFAULT_FILE
            )
        endpoint = Endpoint(
            options.base_url,
            options.api_key,
            timeout=options.timeout,
            max_retries=options.retries,
            cache=cache,
            concurrency=options.concurrency,
        )
    context = BuildContext(
        root=repo.root,
        prompts=dict(tree.prompts),
        complete=judge_caller(endpoint, options.use_cache) if endpoint else None,
    )
    evaluators, run_evaluators = build_checks(block, loaded, context)
    params = {**parameters(config), **options.params}
    commit = repo.resolve(options.ref) if options.ref else _head(repo)
    return RunPlan(
        target=Target(prompt, None if task else spec, task, model, params),
        dataset=DatasetRef(name=dataset.name, hash=dataset.hash, path=dataset.path),
        items=dataset.items,
        evaluators=evaluators,
        run_evaluators=run_evaluators,
        gate=dict(block.gate) if block else {},
        endpoint=endpoint,
        concurrency=options.concurrency,
        samples=options.samples or (block.samples if block else 1),
        use_cache=options.use_cache,
        max_cost=options.max_cost,
        name=options.name,
        commit=commit,
        ref=options.ref,
        evaluator_specs=list(block.evaluators) if block else [],
        item_lines=dataset.item_lines,
        show_progress=options.show_progress,
    )


def _prompt_to_run(
    repo: PromptRepo, options: EvalOptions, loaded: LoadedPrompt | None, registry: Any
) -> tuple[RunPrompt, Any]:
    if options.label is not None or options.version is not None:
        if registry is None:
            raise UsageError(
                "--label/--version read the registry: set --registry or PROMPTRAIL_URL"
            )
        published = registry.get(options.prompt, label=options.label, version=options.version)
        prompt = RunPrompt(
            name=published.name,
            version=published.version,
            hash=published.hash,
            label=options.label,
            source="registry",
        )
        return prompt, published
    if loaded is None:
        where = f"at {options.ref}" if options.ref else f"in {repo.prompts_path}"
        raise UsageError(f"no prompt named {options.prompt!r} {where}")
    source = f"git:{options.ref}" if options.ref else "worktree"
    prompt = RunPrompt(name=loaded.name, version=loaded.version, hash=loaded.hash, source=source)
    return prompt, loaded.spec


def _eval_block(loaded: LoadedPrompt | None, options: EvalOptions) -> EvalBlock | None:
    if loaded is None:
        return None
    blocks = loaded.spec.evals
    if options.dataset is None:
        if len(blocks) > 1:
            names = ", ".join(block.dataset for block in blocks)
            raise UsageError(
                f"prompt {loaded.name!r} is checked with {names}: pick one with --dataset"
            )
        return blocks[0] if blocks else None
    return next((block for block in blocks if block.dataset == options.dataset), None)


def _needs_endpoint(block: EvalBlock | None) -> bool:
    return block is not None and any(
        isinstance(raw, dict) and raw.get("type") == "llm_judge" for raw in block.evaluators
    )


def build_checks(
    block: EvalBlock | None, loaded: LoadedPrompt | None, context: BuildContext
) -> tuple[list[Any], list[Any]]:
    """The block's evaluators, or ProblemsFound pointing at each broken entry's line."""
    if block is None:
        return [], []
    index = loaded.spec.evals.index(block) if loaded is not None else 0
    problems: list[Problem] = []

    def problem(message: str, *path: str | int) -> Problem:
        line = loaded.line("evals", index, *path) if loaded is not None else None
        return Problem(message, loaded.path if loaded else None, line, "eval-evaluator")

    evaluators: list[Any] = []
    run_evaluators: list[Any] = []
    try:
        evaluators = build(block.evaluators, context)
    except SpecErrors as exc:
        problems += [problem(e.message, "evaluators", e.index) for e in exc.errors]
    names = [evaluator.name for evaluator in evaluators]
    try:
        run_evaluators = build_run_evaluators(block.run_evaluators, names, context.root)
    except SpecErrors as exc:
        problems += [problem(e.message, "run_evaluators", e.index) for e in exc.errors]
    known = names + [evaluator.name for evaluator in run_evaluators]
    if not problems:
        problems += [problem(message, "gate") for message in gate_problems(block.gate, known)]
    if problems:
        raise ProblemsFound(problems)
    return evaluators, run_evaluators


def judge_caller(endpoint: Endpoint, use_cache: bool) -> Complete:
    """A judge's call: through the run's endpoint and cache, traced as a generation of
    the judge prompt under the item's trace."""

    async def complete(
        messages: list[dict[str, Any]], config: dict[str, Any], prompt: dict[str, Any]
    ) -> str:
        from promptrail.tracing import start_generation

        model = config.get("model")
        if not model:
            raise UsageError(f"judge prompt {prompt['name']!r} names no model in `config.model`")
        params = parameters(config)
        with start_generation(
            f"judge {prompt['name']}",
            model=str(model),
            model_parameters=params,
            input=messages,
            prompt=prompt,
        ) as generation:
            answer = await endpoint.complete(messages, str(model), params, use_cache=use_cache)
            generation.update(output=answer.text, usage=answer.usage or None)
        return answer.text

    return complete


def _head(repo: PromptRepo) -> str | None:
    if not repo.has_commits():
        return None
    return repo.resolve("HEAD")
