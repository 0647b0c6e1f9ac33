"""Hand-made runs for the pure parts (pairing, gate, comment): RunResult as the runner makes it."""

from __future__ import annotations

from typing import Any

from promptrail.api.eval import DatasetRef, ItemResult, RunPrompt, RunResult


def run(
    version: int,
    outputs: dict[str, str],
    scores: dict[str, dict[str, Any]],
    *,
    cost: float | None = None,
    latency_ms: float | None = None,
) -> RunResult:
    items = [
        ItemResult(
            id=item_id,
            input={"q": item_id},
            output=output,
            scores={name: values[item_id] for name, values in scores.items() if item_id in values},
            cost=cost,
            latency_ms=latency_ms,
        )
        for item_id, output in outputs.items()
    ]
    aggregates = {}
    for name, values in scores.items():
        numbers = [float(v) for v in values.values()]
        aggregates[name] = sum(numbers) / len(numbers)
    return RunResult(
        run_id=f"run-{version}",
        prompt=RunPrompt(name="qa", version=version, hash=f"h{version}"),
        dataset=DatasetRef(name="capitals", hash="d1"),
        items=items,
        aggregates=aggregates,
    )
