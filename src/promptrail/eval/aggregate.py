"""Run-level numbers: each evaluator's mean, run-level evaluators, and the gate.

A mean is taken over the results that have the score: an item whose call failed has no
scores and is counted in `stats.errors` instead (a flaky endpoint should not look like a
worse prompt). A gate rule on an evaluator with no aggregate at all fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from promptrail.api.eval import GateCheck, GateResult, ItemResult, ScoreValue
from promptrail.errors import EvaluatorError
from promptrail.eval.evaluators import SpecError, SpecErrors
from promptrail.eval.evaluators.bounds import as_number
from promptrail.eval.evaluators.custom import as_score
from promptrail.eval.functions import UserFunction
from promptrail.repo.spec import GATE_CEILINGS, GateRule


def means(results: list[ItemResult], names: list[str]) -> dict[str, float | None]:
    sums = dict.fromkeys(names, 0.0)
    counts = dict.fromkeys(names, 0)
    for result in results:
        for name, value in result.scores.items():
            number = as_number(value)
            if number is not None and name in sums:
                sums[name] += number
                counts[name] += 1
    return {name: (sums[name] / counts[name] if counts[name] else None) for name in names}


class RunSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["mean", "pass_rate", "python"]
    name: str | None = None
    of: str | None = None  # the item-level evaluator it summarises (mean, pass_rate)
    threshold: float | None = None  # pass_rate: a numeric score passes at or above it
    function: str | None = None  # python: gets `results` and `aggregates`


@dataclass
class RunEvaluator:
    spec: RunSpec
    name: str
    function: UserFunction | None = None

    async def evaluate(
        self, results: list[ItemResult], aggregates: dict[str, float | None]
    ) -> ScoreValue | None:
        if self.function is not None:
            value = await self.function.call(results=results, aggregates=aggregates)
            return as_score(value, self.spec.function or "").value
        values = [r.scores[self.spec.of] for r in results if self.spec.of in r.scores]
        if self.spec.type == "mean":
            numbers = [n for n in map(as_number, values) if n is not None]
            return sum(numbers) / len(numbers) if numbers else None
        passed = [_passes(value, self.spec.threshold) for value in values]
        return sum(passed) / len(passed) if passed else None


def _passes(value: ScoreValue, threshold: float | None) -> bool:
    if isinstance(value, bool):
        return value
    number = as_number(value)
    if number is None:
        return False
    return number >= (threshold if threshold is not None else 1.0)


def build_run_evaluators(
    specs: list[dict[str, Any]], item_names: list[str], root: Path | None
) -> list[RunEvaluator]:
    built: list[RunEvaluator] = []
    errors: list[SpecError] = []
    for index, raw in enumerate(specs):
        try:
            spec = RunSpec.model_validate(raw)
        except Exception as exc:
            errors.append(SpecError(index, None, f"run evaluator: {_first_error(exc)}"))
            continue
        if spec.type == "python":
            if not spec.function:
                errors.append(
                    SpecError(index, "function", "a python run evaluator needs `function:`")
                )
                continue
            try:
                function = UserFunction(spec.function, root)
            except ValueError as exc:
                errors.append(SpecError(index, "function", str(exc)))
                continue
            built.append(
                RunEvaluator(spec, spec.name or spec.function.rpartition(":")[2], function)
            )
            continue
        if spec.of not in item_names:
            errors.append(
                SpecError(
                    index,
                    "of",
                    f"`of: {spec.of}` names no evaluator of this dataset "
                    f"(evaluators: {', '.join(item_names) or 'none'})",
                )
            )
            continue
        built.append(RunEvaluator(spec, spec.name or f"{spec.type}:{spec.of}"))
    if errors:
        raise SpecErrors(errors)
    return built


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        return f"`{loc}`: {first['msg']}" if loc else str(first["msg"])
    return str(exc)


def check_gate(
    gate: dict[str, GateRule], aggregates: dict[str, float | None], run_values: dict[str, Any]
) -> GateResult:
    checks = []
    for name, rule in gate.items():
        if name in GATE_CEILINGS or (rule.min is None and rule.max is None):
            continue  # per-call ceilings and drop limits: eval/prgate.py
        raw = run_values[name] if name in run_values else aggregates.get(name)
        value = as_number(raw) if raw is not None else None
        if value is None:
            checks.append(
                GateCheck(
                    evaluator=name,
                    min=rule.min,
                    max=rule.max,
                    passed=False,
                    message=f"{name} has no score on any item",
                )
            )
            continue
        low_ok = rule.min is None or value >= rule.min
        high_ok = rule.max is None or value <= rule.max
        message = None
        if not low_ok:
            message = f"{name} = {value:.3g}, below the minimum {rule.min:g}"
        elif not high_ok:
            message = f"{name} = {value:.3g}, above the maximum {rule.max:g}"
        checks.append(
            GateCheck(
                evaluator=name,
                min=rule.min,
                max=rule.max,
                value=value,
                passed=low_ok and high_ok,
                message=message,
            )
        )
    return GateResult(passed=all(check.passed for check in checks), checks=checks)


def gate_problems(gate: dict[str, GateRule], known: list[str]) -> list[str]:
    """Gate rules naming no evaluator: a typo would otherwise fail every run."""
    return [
        f"the gate names {name!r}, which is no evaluator of this dataset "
        f"(evaluators: {', '.join(known) or 'none'})"
        for name in gate
        if name not in known and name not in GATE_CEILINGS
    ]


__all__ = ["EvaluatorError", "RunEvaluator", "build_run_evaluators", "check_gate", "means"]
