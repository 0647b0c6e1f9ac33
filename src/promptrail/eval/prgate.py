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

from promptrail.api.eval import GateCheck, GateResult, RunResult
from promptrail.eval.aggregate import check_gate
from promptrail.eval.stats import Comparison
from promptrail.repo.spec import GateRule

COST, LATENCY = "cost_per_call", "latency_ms"  # repo.spec.GATE_CEILINGS


def check(
    gate: Mapping[str, GateRule],
    head: RunResult,
    comparison: Mapping[str, Comparison],
) -> GateResult:
    checks = list(check_gate(dict(gate), head.aggregates, head.run_aggregates).checks)
    for name, rule in gate.items():
        if name == COST:
            checks.append(_ceiling(name, rule, [i.cost for i in head.items], "$", mean=True))
        elif name == LATENCY:
            checks.append(_ceiling(name, rule, [i.latency_ms for i in head.items], "ms"))
    for name, found in comparison.items():
        declared = gate.get(name)
        allowed = declared.max_drop if declared and declared.max_drop is not None else 0.0
        checks.append(_drop(name, found, allowed))
    return GateResult(passed=all(c.passed for c in checks), checks=checks)


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
    name: str, rule: GateRule, values: list[float | None], unit: str, mean: bool = False
) -> GateCheck:
    limit = rule.max
    known = sorted(v for v in values if v is not None)
    if limit is None or not known:
        return GateCheck(evaluator=name, max=limit, passed=True, message="not measured")
    value = math.fsum(known) / len(known) if mean else known[math.ceil(0.95 * len(known)) - 1]
    passed = value <= limit
    what = "mean" if mean else "p95"
    return GateCheck(
        evaluator=name,
        max=limit,
        value=value,
        passed=passed,
        message=None if passed else f"{what} {value:g} {unit} per call is above {limit:g} {unit}",
    )
