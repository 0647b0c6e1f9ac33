"""Two runs of one prompt over the same dataset, side by side: the numbers a PR shows.

`compare_runs` pairs the runs item by item (every sample of an item on each side) and
hands each evaluator's scores to `stats.compare`. `changed_items` lists the items whose
scores moved, those whose pass/fail verdict flipped first (regressions before
improvements), each with its input, both outputs and a word-level diff.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from promptrail.api.eval import ItemResult, RunResult, ScoreValue
from promptrail.eval.stats import TIE, Comparison, compare, item_means
from promptrail.eval.worddiff import plain, word_diff


def numeric(value: ScoreValue | None) -> float | None:
    """A score as a number: booleans are 1 and 0; categories have none."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def comparable_evaluators(base: RunResult, head: RunResult) -> list[str]:
    """Evaluators both runs scored with numbers or booleans, in the head's order."""

    def scored(run: RunResult) -> dict[str, None]:
        names: dict[str, None] = {}
        for item in run.items:
            for name, value in item.scores.items():
                if numeric(value) is not None:
                    names[name] = None
        return names

    on_base = scored(base)
    return [name for name in scored(head) if name in on_base]


def sample_scores(run: RunResult, evaluator: str) -> dict[str, list[float | None]]:
    """item id -> the evaluator's value on each sample (None: the call or check failed)."""
    scores: dict[str, list[float | None]] = defaultdict(list)
    for item in run.items:
        scores[item.id].append(numeric(item.scores.get(evaluator)))
    return scores


def compare_runs(base: RunResult, head: RunResult, **options: Any) -> dict[str, Comparison]:
    return {
        name: compare(sample_scores(base, name), sample_scores(head, name), **options)
        for name in comparable_evaluators(base, head)
    }


@dataclass
class ChangedItem:
    id: str
    input: Any
    expected: Any
    base: ItemResult
    head: ItemResult
    deltas: dict[str, tuple[float | None, float | None]]  # evaluator -> (base, head) means
    flipped: dict[str, str]  # evaluator -> "fixed" | "broken": a pass/fail verdict changed

    @property
    def regression(self) -> bool:
        return "broken" in self.flipped.values()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "input": self.input,
            "expected": self.expected,
            "base": {"output": self.base.output, "error": self.base.error},
            "head": {"output": self.head.output, "error": self.head.error},
            "scores": {
                name: {"base": b, "head": h, "diff": None if b is None or h is None else h - b}
                for name, (b, h) in self.deltas.items()
            },
            "flipped": self.flipped,
            "word_diff": plain(word_diff(self.base.output, self.head.output)),
        }


def changed_items(base: RunResult, head: RunResult) -> list[ChangedItem]:
    """Items whose scores differ between the runs: flipped verdicts (breaks first) lead."""
    names = comparable_evaluators(base, head)
    verdicts = {name for name in names if _is_pass_fail(base, head, name)}
    means = {
        name: (item_means(sample_scores(base, name)), item_means(sample_scores(head, name)))
        for name in names
    }
    first_base = _first_samples(base)
    first_head = _first_samples(head)
    changed = []
    for item_id, head_item in first_head.items():
        base_item = first_base.get(item_id)
        if base_item is None:
            continue
        deltas: dict[str, tuple[float | None, float | None]] = {}
        flipped: dict[str, str] = {}
        for name, (b_means, h_means) in means.items():
            b, h = b_means.get(item_id), h_means.get(item_id)
            same = b is None or h is None or abs(h - b) <= TIE
            if same and (b is None) == (h is None):
                continue
            deltas[name] = (b, h)
            if name in verdicts and b is not None and h is not None and (b >= 0.5) != (h >= 0.5):
                flipped[name] = "fixed" if h > b else "broken"
        if deltas:
            changed.append(
                ChangedItem(
                    id=item_id,
                    input=head_item.input if head_item.input is not None else base_item.input,
                    expected=head_item.expected,
                    base=base_item,
                    head=head_item,
                    deltas=deltas,
                    flipped=flipped,
                )
            )

    def order(item: ChangedItem) -> tuple[int, float, str]:
        rank = 0 if item.regression else 1 if item.flipped else 2
        moved = sum(abs((h or 0.0) - (b or 0.0)) for b, h in item.deltas.values())
        return rank, -moved, item.id

    return sorted(changed, key=order)


def _is_pass_fail(base: RunResult, head: RunResult, evaluator: str) -> bool:
    values = [
        item.scores[evaluator]
        for run in (base, head)
        for item in run.items
        if evaluator in item.scores
    ]
    return bool(values) and all(isinstance(v, bool) for v in values)


def _first_samples(run: RunResult) -> dict[str, ItemResult]:
    """Each item's lowest-numbered sample: the output shown for it."""
    first: dict[str, ItemResult] = {}
    for item in run.items:
        if item.id not in first or item.sample < first[item.id].sample:
            first[item.id] = item
    return first
