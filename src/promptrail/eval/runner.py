"""Run a prompt (or the user's task function) over dataset items and score every answer.

Items run concurrently (at most `concurrency` at once) on one event loop. Each item (each
sample of it) is one trace: a span for the item, a generation under it linked to the
prompt version, metadata naming the run, dataset and item, and the scores on the trace.
A failing item records its error and the run goes on; only when no call reached the
endpoint at all is the run abandoned (LlmUnavailable: exit 3).

Before any call is made, every item is rendered (a missing variable stops the run with
the item's file and line) and the cost is estimated against `max_cost`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from promptrail.api.eval import (
    DatasetRef,
    ItemResult,
    RunPrompt,
    RunResult,
    RunStats,
)
from promptrail.api.registry import PublishedVersion
from promptrail.errors import (
    EvaluatorError,
    LlmUnavailable,
    Problem,
    ProblemsFound,
    PromptrailError,
    TemplateError,
)
from promptrail.eval.aggregate import RunEvaluator, check_gate, means
from promptrail.eval.evaluators import Case, Evaluator
from promptrail.eval.functions import UserFunction
from promptrail.eval.llm import Completion, Endpoint, describe_error, is_unreachable
from promptrail.eval.progress import Progress
from promptrail.eval.prompts import render
from promptrail.repo.spec import DatasetItem, GateRule, PromptFile

DEFAULT_CONCURRENCY = 8
ESTIMATED_OUTPUT_TOKENS = 256  # when the prompt's config sets no max_tokens


@dataclass
class Target:
    """What produces an item's output: a prompt version, or a task function."""

    prompt: RunPrompt
    spec: PromptFile | PublishedVersion | None = None
    task: UserFunction | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunPlan:
    target: Target
    dataset: DatasetRef
    items: list[DatasetItem]
    evaluators: list[Evaluator] = field(default_factory=list)
    run_evaluators: list[RunEvaluator] = field(default_factory=list)
    gate: dict[str, GateRule] = field(default_factory=dict)
    endpoint: Endpoint | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    samples: int = 1
    use_cache: bool = True
    max_cost: float | None = None
    name: str | None = None
    commit: str | None = None
    ref: str | None = None
    evaluator_specs: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    item_lines: list[int] = field(default_factory=list)  # for errors naming an item's line
    show_progress: bool = True
    run_id: str = field(default_factory=lambda: new_run_id())


def new_run_id() -> str:
    """Sortable by time, unique without coordination: `20261206T224806-3fa9c1d2`."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def run(plan: RunPlan) -> RunResult:
    return asyncio.run(execute(plan))


async def execute(plan: RunPlan) -> RunResult:
    started_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    rendered = render_all(plan)
    spent = _Spent()
    check_budget(plan, rendered)
    from promptrail.tracing import get_tracer

    tracer = get_tracer()
    if plan.endpoint is not None and plan.target.task is None:
        plan.endpoint.client  # noqa: B018 (import openai now, not inside the first call)
    semaphore = asyncio.Semaphore(max(1, plan.concurrency))
    jobs = [(index, sample) for index in range(len(plan.items)) for sample in range(plan.samples)]
    progress = Progress(len(jobs), f"eval {plan.target.prompt.name}", enabled=plan.show_progress)
    results: list[ItemResult | None] = [None] * len(jobs)

    async def one(position: int, index: int, sample: int) -> None:
        async with semaphore:
            result = await run_item(plan, tracer, index, sample, rendered[index], spent)
        results[position] = result
        progress.advance(error=result.error is not None, cached=result.cached)

    try:
        await asyncio.gather(*(one(pos, i, s) for pos, (i, s) in enumerate(jobs)))
    finally:
        progress.close()
        if plan.endpoint is not None:
            await plan.endpoint.aclose()
            if plan.endpoint.cache is not None:
                plan.endpoint.cache.close()
    done = [result for result in results if result is not None]
    if spent.unreachable and spent.unreachable == len(done) and plan.target.task is None:
        raise LlmUnavailable(
            f"the LLM endpoint at {plan.endpoint.base_url if plan.endpoint else '?'} could not "
            f"be reached: {spent.first_error} (set OPENAI_BASE_URL or --base-url)"
        )
    return await finish(plan, done, started_at, time.perf_counter() - started, spent)


@dataclass
class _Spent:
    cost: float = 0.0
    unreachable: int = 0
    first_error: str | None = None


def render_all(plan: RunPlan) -> list[list[dict[str, Any]] | None]:
    """Every item's messages, or ProblemsFound naming each item that cannot be rendered."""
    spec = plan.target.spec
    if spec is None:
        return [None] * len(plan.items)
    rendered: list[list[dict[str, Any]] | None] = []
    problems = []
    for index, item in enumerate(plan.items):
        try:
            rendered.append(render(spec, item.input, plan.target.prompt.name))
        except TemplateError as exc:
            line = plan.item_lines[index] if index < len(plan.item_lines) else None
            problems.append(
                Problem(
                    f"item {item.id!r}: {exc}",
                    plan.dataset.path,
                    line,
                    "dataset-missing-variable",
                    plan.dataset.name,
                )
            )
            rendered.append(None)
    if problems:
        raise ProblemsFound(problems)
    return rendered


def estimate_cost(plan: RunPlan, rendered: list[list[dict[str, Any]] | None]) -> float | None:
    """USD for the calls the cache cannot answer: input tokens from the text, output from
    `max_tokens` (or a guess). None when the model has no known price."""
    if plan.target.spec is None or plan.endpoint is None or not plan.target.model:
        return None
    prices = price_table()
    if prices is None:
        return None
    price = prices.find(plan.target.model)
    if price is None:
        return None
    from promptrail.eval.cache import cache_key

    limit = plan.target.params.get("max_tokens") or plan.target.params.get("max_completion_tokens")
    output_tokens = int(limit) if isinstance(limit, int) else ESTIMATED_OUTPUT_TOKENS
    total = 0.0
    cache = plan.endpoint.cache if plan.use_cache else None
    for messages in rendered:
        text = json.dumps(messages)
        for sample in range(plan.samples):
            if cache is not None:
                key = cache_key(
                    plan.endpoint.base_url,
                    plan.target.model,
                    messages or [],
                    plan.target.params,
                    sample,
                )
                if cache.get(key) is not None:
                    continue
            total += (len(text) + 3) // 4 * price.input_price + output_tokens * price.output_price
    return total


def check_budget(plan: RunPlan, rendered: list[list[dict[str, Any]] | None]) -> None:
    if plan.max_cost is None:
        return
    estimate = estimate_cost(plan, rendered)
    if estimate is None:
        raise PromptrailError(
            f"cannot estimate the cost: no price is known for model {plan.target.model!r} "
            "(add one with PROMPTRAIL_PRICES, or drop --max-cost)"
        )
    if estimate > plan.max_cost:
        raise PromptrailError(
            f"the run would cost about ${estimate:.4f}, above --max-cost ${plan.max_cost:.4f}; "
            "nothing was called (raise the budget, or run fewer items or samples)"
        )


_prices: Any = None


def price_table() -> Any:
    """The shipped price table (and PROMPTRAIL_PRICES); None without the server extra."""
    global _prices
    if _prices is None:
        try:
            from promptrail.store.pricing import price_table as load
        except ImportError:
            return None
        _prices = load()
    return _prices


def cost_of(model: str | None, usage: dict[str, Any]) -> float | None:
    prices = price_table()
    if prices is None or not model or not usage:
        return None
    details = usage.get("prompt_tokens_details") or {}
    cost = prices.cost(
        model,
        {
            "input": usage.get("prompt_tokens"),
            "output": usage.get("completion_tokens"),
            "cached": details.get("cached_tokens") if isinstance(details, dict) else None,
        },
    )
    return None if cost is None else float(cost.total)


async def run_item(
    plan: RunPlan,
    tracer: Any,
    index: int,
    sample: int,
    messages: list[dict[str, Any]] | None,
    spent: _Spent,
) -> ItemResult:
    item = plan.items[index]
    target = plan.target
    result = ItemResult(id=item.id, sample=sample, input=item.input, expected=item.expected)
    with tracer.start_span(f"eval {target.prompt.name}", input=item.input) as span:
        span.update_trace(
            name=f"eval {target.prompt.name}",
            tags=["eval"],
            metadata={
                "run_id": plan.run_id,
                "dataset": plan.dataset.name,
                "dataset_hash": plan.dataset.hash,
                "item_id": item.id,
                "sample": sample,
            },
        )
        if tracer.exporter is not None:  # an id nobody can look up would mislead
            result.trace_id = span.trace_id
        started = time.perf_counter()
        try:
            if target.task is not None:
                result.output = await target.task.call(
                    in_thread=True,
                    input=item.input,
                    item=item,
                    expected=item.expected,
                    metadata=item.metadata,
                    sample=sample,
                )
                result.latency_ms = (time.perf_counter() - started) * 1000
            else:
                completion = await generate(plan, tracer, messages or [], sample, result)
                result.output = completion.text
                result.latency_ms = completion.latency_ms
                result.cached = completion.cached
                result.tokens = completion.tokens
                result.cost = cost_of(completion.model or target.model, completion.usage)
                if result.cost is not None and not completion.cached:
                    spent.cost += result.cost
        except Exception as exc:
            result.error = describe_error(exc)
            if is_unreachable(exc):
                spent.unreachable += 1
            spent.first_error = spent.first_error or result.error
            span.update(level="ERROR", status_message=result.error)
            return result
        span.update(output=result.output)
        await score(plan, result, item, tracer)
    return result


async def generate(
    plan: RunPlan, tracer: Any, messages: list[dict[str, Any]], sample: int, result: ItemResult
) -> Completion:
    target = plan.target
    assert plan.endpoint is not None
    assert target.model is not None
    prompt_ref = {
        "name": target.prompt.name,
        "version": target.prompt.version,
        "label": target.prompt.label,
        "hash": target.prompt.hash,
    }
    with tracer.start_generation(
        target.prompt.name,
        model=target.model,
        model_parameters=target.params,
        input=messages,
        prompt=prompt_ref,
    ) as generation:
        completion = await plan.endpoint.complete(
            messages, target.model, target.params, sample, use_cache=plan.use_cache
        )
        generation.update(
            output=completion.text,
            usage=completion.usage or None,
            model=completion.model or target.model,
            metadata={"cached": completion.cached, "run_id": plan.run_id},
        )
    return completion


async def score(plan: RunPlan, result: ItemResult, item: DatasetItem, tracer: Any) -> None:
    case = Case(
        input=item.input,
        output=result.output,
        expected=item.expected,
        metadata=item.metadata,
        item_id=item.id,
        latency_ms=result.latency_ms,
        cost=result.cost,
        tokens=result.tokens,
    )
    for evaluator in plan.evaluators:
        try:
            if evaluator.is_async:
                verdict = await evaluator.evaluate_async(case)
            else:
                verdict = evaluator.evaluate(case)
        except EvaluatorError as exc:
            result.evaluator_errors[evaluator.name] = str(exc)
            continue
        except Exception as exc:  # a bug in an evaluator must not end the run
            result.evaluator_errors[evaluator.name] = f"{type(exc).__name__}: {exc}"
            continue
        result.scores[evaluator.name] = verdict.value
        if verdict.comment:
            result.comments[evaluator.name] = verdict.comment
        if result.trace_id:
            tracer.score(
                evaluator.name, verdict.value, trace_id=result.trace_id, comment=verdict.comment
            )


async def finish(
    plan: RunPlan, results: list[ItemResult], started_at: dt.datetime, seconds: float, spent: _Spent
) -> RunResult:
    names = [evaluator.name for evaluator in plan.evaluators]
    aggregates = means(results, names)
    run_values: dict[str, Any] = {}
    for run_evaluator in plan.run_evaluators:
        try:
            value = await run_evaluator.evaluate(results, aggregates)
        except Exception as exc:
            plan.metadata.setdefault("run_evaluator_errors", {})[run_evaluator.name] = str(exc)
            continue
        if value is not None:
            run_values[run_evaluator.name] = value
    endpoint = plan.endpoint
    priced = [r.cost for r in results if r.cost is not None]
    return RunResult(
        run_id=plan.run_id,
        prompt=plan.target.prompt,
        dataset=plan.dataset,
        items=results,
        aggregates=aggregates,
        gate=check_gate(plan.gate, aggregates, run_values),
        name=plan.name,
        created_at=started_at.isoformat(),
        commit=plan.commit,
        ref=plan.ref,
        model=plan.target.model,
        params=plan.target.params,
        task=plan.target.task.reference if plan.target.task else None,
        samples=plan.samples,
        evaluators=plan.evaluator_specs,
        run_aggregates=run_values,
        stats=RunStats(
            items=len(results),
            errors=sum(1 for r in results if r.error is not None),
            llm_calls=endpoint.calls if endpoint else 0,
            cache_hits=endpoint.cache_hits if endpoint else 0,
            cost=round(spent.cost, 10) if priced else None,
            duration_ms=round(seconds * 1000, 3),
        ),
        metadata=plan.metadata,
    )
