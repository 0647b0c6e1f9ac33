"""`promptrail eval PROMPT --traces`: score a prompt's production generations.

The prompt's evaluators that need no expected output (regex, contains, JSON checks,
bounds, Python functions, LLM judges...) run over a sample of the generations traced for
it in a time range, and their scores are written onto those generations (source `eval`)
through the score API. The registry's per-version metrics then include them.

- The sample is stable: traces are taken in the order of a hash of their id, so a rerun
  over the same range picks the same generations, and a longer range adds to them.
- Each score's id is derived from (generation, evaluator, evaluator version): a rerun
  skips generations already scored by that version of the evaluator, and a retried
  write replaces instead of duplicating. Changing an evaluator (or its judge prompt)
  makes a new version, which scores everything again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from promptrail.api.quality import TIME_HINT, parse_time
from promptrail.api.tracing import ObservationOut, ScoreBody
from promptrail.content import content_hash
from promptrail.errors import EvaluatorError, UsageError
from promptrail.eval.evaluators.base import Case, Evaluator, Score
from promptrail.eval.paired import numeric
from promptrail.eval.setup import EvalOptions, prepare
from promptrail.eval.stats import compare_unpaired
from promptrail.repo.repository import PromptRepo

if TYPE_CHECKING:
    from promptrail.api.client import RegistryClient

PAGE = 500


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`30m`, `24h`, `7d`, `2w` back from now, or an ISO 8601 date or time (UTC)."""
    try:
        return parse_time(text, now)
    except ValueError:
        raise UsageError(f"--since {text!r}: {TIME_HINT}") from None


def needs_expected(evaluator: Evaluator) -> bool:
    """Compares with the item's expected output (a `value` it was not given)."""
    spec = evaluator.spec
    fields = type(spec).model_fields
    return "value" in fields and spec.value is None and getattr(spec, "values", None) is None


def evaluator_version(evaluator: Evaluator, judges: dict[str, str]) -> str:
    """The spec, and for a judge its prompt's content hash: either changing re-scores."""
    spec = evaluator.spec.model_dump(mode="json")
    judge = judges.get(str(spec.get("prompt"))) if spec.get("type") == "llm_judge" else None
    return content_hash({"spec": spec, "judge": judge})[:12]


def score_id(observation_id: str, name: str, version: str) -> str:
    digest = hashlib.sha256(f"{observation_id}|{name}|{version}".encode()).hexdigest()
    return f"eval-{digest[:40]}"


@dataclass
class Generation:
    trace_id: str
    observation: ObservationOut
    score_ids: set[str]


def sample_generations(
    client: RegistryClient, prompt: str, start: datetime, end: datetime, sample: int
) -> tuple[list[Generation], int]:
    """Up to `sample` generations of `prompt` in [start, end), and how many traces there were."""
    trace_ids: list[str] = []
    page = 1
    while True:
        listing = client.list_traces(
            prompt_name=prompt,
            **{"from": start.isoformat(), "to": end.isoformat()},
            page=page,
            limit=PAGE,
        )
        trace_ids += [trace.id for trace in listing.data]
        if page >= listing.meta.total_pages:
            break
        page += 1
    trace_ids.sort(key=lambda t: hashlib.sha256(t.encode()).digest())
    found: list[Generation] = []
    for trace_id in trace_ids:
        if len(found) >= sample:
            break
        detail = client.get_trace(trace_id)
        ids = {score.id for score in detail.scores}
        for observation in detail.observations:
            named = observation.prompt.name if observation.prompt else None
            if observation.type == "generation" and named == prompt and len(found) < sample:
                found.append(Generation(trace_id, observation, ids))
    return found, len(trace_ids)


def output_of(observation: ObservationOut) -> Any:
    """A generation's answer: the assistant message's text when that is what was traced."""
    output = observation.output
    if isinstance(output, dict) and set(output) <= {"role", "content"} and "content" in output:
        return output["content"]
    return output


def score_traces(
    client: RegistryClient,
    options: EvalOptions,
    *,
    since: str,
    sample: int,
    path: str = ".",
    now: datetime | None = None,
) -> dict[str, Any]:
    repo = PromptRepo(path)
    end = now or datetime.now(UTC)
    start = parse_since(since, end)
    plan = prepare(repo, dataclasses.replace(options, generate=False))
    tree = repo.load(None)
    judges = {name: loaded.hash for name, loaded in tree.prompts.items()}
    usable = [e for e in plan.evaluators if not needs_expected(e)]
    left_out = [e.name for e in plan.evaluators if needs_expected(e)]
    versions = {e.name: evaluator_version(e, judges) for e in usable}
    generations, traces = sample_generations(client, options.prompt, start, end, sample)
    work = [
        (generation, evaluator)
        for generation in generations
        for evaluator in usable
        if score_id(generation.observation.id, evaluator.name, versions[evaluator.name])
        not in generation.score_ids
    ]
    try:
        verdicts = asyncio.run(_evaluate(work, plan.concurrency, plan.endpoint))
    finally:
        if plan.endpoint is not None and plan.endpoint.cache is not None:
            plan.endpoint.cache.close()
    scored, errors = 0, 0
    per_version: dict[int | None, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (generation, evaluator), verdict in zip(work, verdicts, strict=True):
        if isinstance(verdict, str):
            errors += 1
            continue
        observation = generation.observation
        version = versions[evaluator.name]
        client.create_score(
            ScoreBody(
                id=score_id(observation.id, evaluator.name, version),
                name=evaluator.name,
                value=verdict.value,
                trace_id=generation.trace_id,
                observation_id=observation.id,
                source="eval",
                comment=verdict.comment,
                metadata={"evaluator_version": version, "evaluator": evaluator.spec.type},
            )
        )
        scored += 1
        value = numeric(verdict.value)
        if value is not None:
            prompt_version = observation.prompt.version if observation.prompt else None
            per_version[prompt_version][evaluator.name].append(value)
    return {
        "prompt": options.prompt,
        "since": start.isoformat(),
        "until": end.isoformat(),
        "traces": traces,
        "considered": len(generations),
        "scored": scored,
        "skipped": len(generations) * len(usable) - len(work),
        "errors": errors,
        "evaluators": versions,
        "needs_expected": left_out,
        "versions": _by_version(per_version),
        "comparison": _compare_versions(per_version),
        "aggregates": _means(per_version),
        "gate": {"passed": True},
    }


async def _evaluate(
    work: list[tuple[Generation, Evaluator]], concurrency: int, endpoint: Any
) -> list[Score | str]:
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(generation: Generation, evaluator: Evaluator) -> Score | str:
        observation = generation.observation
        case = Case(
            input=observation.input,
            output=output_of(observation),
            metadata=observation.metadata if isinstance(observation.metadata, dict) else {},
            item_id=observation.id,
            latency_ms=observation.latency_ms,
        )
        async with semaphore:
            try:
                if evaluator.is_async:
                    return await evaluator.evaluate_async(case)
                return evaluator.evaluate(case)
            except EvaluatorError as exc:
                return str(exc)
            except Exception as exc:  # a bug in an evaluator must not stop the others
                return f"{type(exc).__name__}: {exc}"

    try:
        return await asyncio.gather(*(one(g, e) for g, e in work))
    finally:
        if endpoint is not None:
            await endpoint.aclose()


def _by_version(
    per_version: dict[int | None, dict[str, list[float]]],
) -> dict[str, dict[str, dict[str, float | int]]]:
    return {
        str(version): {
            name: {"mean": sum(values) / len(values), "n": len(values)}
            for name, values in scores.items()
        }
        for version, scores in sorted(per_version.items(), key=lambda kv: kv[0] or 0)
    }


def _means(per_version: dict[int | None, dict[str, list[float]]]) -> dict[str, float]:
    pooled: dict[str, list[float]] = defaultdict(list)
    for scores in per_version.values():
        for name, values in scores.items():
            pooled[name] += values
    return {name: sum(values) / len(values) for name, values in pooled.items()}


def _compare_versions(
    per_version: dict[int | None, dict[str, list[float]]],
) -> dict[str, Any] | None:
    """The two newest versions scored in this pass, side by side with an interval."""
    known = sorted(v for v in per_version if v is not None)
    if len(known) < 2:
        return None
    old, new = known[-2], known[-1]
    names = [n for n in per_version[new] if n in per_version[old]]
    return {
        "base": old,
        "head": new,
        "evaluators": {
            name: compare_unpaired(per_version[old][name], per_version[new][name]).as_dict()
            for name in names
        },
    }
