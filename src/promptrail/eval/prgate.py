"""The pull-request gate: does the head version hold what git declares, against its base?

Declared in the prompt file beside the evaluators (`evals[].gate`), per evaluator:

- `min` / `max`: the head's mean score must stay within them (as for a single run);
- `max_drop`: the head may not be *significantly* worse by more than this much. A drop
  whose interval includes zero is noise and never fails; an evaluator without `max_drop`
  fails on any significant drop (its default is 0).

And two reserved names for what a call costs:

- `cost_per_call: {max: USD}`: the head's mean cost per call;
- `latency_ms: {max: ms}`: the head's 95th percentile latency per call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from promptrail.api.eval import GateCheck, GateResult, RunResult
from promptrail.eval.stats import Comparison

COST = "cost_per_call"
LATENCY = "latency_ms"
RESERVED = (COST, LATENCY)
RULE_KEYS = ("min", "max", "max_drop")


def check(
    gate: Mapping[str, Mapping[str, Any]],
    head: RunResult,
    comparison: Mapping[str, Comparison],
) -> GateResult:
    checks: list[GateCheck] = []
    for name, rule in gate.items():
        if name == COST:
            checks.append(_ceiling(name, rule, [i.cost for i in head.items], "$", mean=True))
        elif name == LATENCY:
            checks.append(_ceiling(name, rule, [i.latency_ms for i in head.items], "ms"))
        else:
            checks.extend(_bounds(name, rule, head.aggregates.get(name)))
    for name, found in comparison.items():
        rule = gate.get(name, {})
        checks.append(_drop(name, found, float(rule.get("max_drop") or 0.0)))
    return GateResult(passed=all(c.passed for c in checks), checks=checks)


def _bounds(name: str, rule: Mapping[str, Any], value: float | None) -> list[GateCheck]:
    low, high = rule.get("min"), rule.get("max")
    if low is None and high is None:
        return []
    if value is None:
        return [GateCheck(evaluator=name, min=low, max=high, passed=False, message="no score")]
    passed = (low is None or value >= low) and (high is None or value <= high)
    bound = f"min {low}" if low is not None and value < low else f"max {high}"
    return [
        GateCheck(
            evaluator=name,
            min=low,
            max=high,
            value=value,
            passed=passed,
            message=None if passed else f"mean {value:.3f} is outside {bound}",
        )
    ]


def _drop(name: str, found: Comparison, allowed: float) -> GateCheck:
    drop = -(found.diff or 0.0)
    failed = found.verdict == "worse" and drop > allowed
    message = None
    if failed and found.ci is not None:
        lo, hi = found.ci
        limit = f"the {allowed:g} allowed" if allowed else "no significant drop allowed"
        message = f"dropped {drop:.3f} (95% CI [{lo:+.3f}, {hi:+.3f}]); {limit}"
    return GateCheck(
        evaluator=name,
        min=-allowed,
        value=found.diff,
        passed=not failed,
        message=message,
    )


def _ceiling(
    name: str, rule: Mapping[str, Any], values: list[float | None], unit: str, mean: bool = False
) -> GateCheck:
    limit = rule.get("max")
    known = sorted(v for v in values if v is not None)
    if limit is None or not known:
        return GateCheck(evaluator=name, max=limit, passed=True, message="not measured")
    value = math.fsum(known) / len(known) if mean else known[math.ceil(0.95 * len(known)) - 1]
    passed = value <= float(limit)
    what = "mean" if mean else "p95"
    return GateCheck(
        evaluator=name,
        max=limit,
        value=value,
        passed=passed,
        message=None if passed else f"{what} {value:g} {unit} per call is above {limit} {unit}",
    )
