"""A run as a person reads it on a terminal: items, each evaluator's mean, the gate."""

from __future__ import annotations

import json
from typing import Any

from promptrail.api.eval import RunResult, ScoreValue
from promptrail.units import usd

MAX_ROWS = 30  # beyond this many items only the failing ones are listed
OUTPUT_WIDTH = 40


def render_table(result: RunResult) -> str:
    names = list(result.aggregates) or sorted({n for item in result.items for n in item.scores})
    failing = [item for item in result.items if item.error or _fails(item.scores)]
    shown = result.items if len(result.items) <= MAX_ROWS else failing[:MAX_ROWS]
    multi = result.samples > 1
    header = ["item", *(["sample"] if multi else []), "output", *names, "ms", "error"]
    rows = []
    for item in shown:
        cells = [item.id, *([str(item.sample)] if multi else []), _short(item.output)]
        for name in names:
            if name in item.scores:
                cells.append(_cell(item.scores[name]))
            else:
                cells.append("ERR" if name in item.evaluator_errors else "-")
        cells.append("" if item.latency_ms is None else f"{item.latency_ms:.0f}")
        cells.append(_short(item.error or "; ".join(item.evaluator_errors.values()), 50))
        rows.append(cells)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    if len(shown) < len(result.items):
        lines.append(f"({len(shown)} of {len(result.items)} items shown: those that failed)")
    lines.append("")
    version = f" v{result.prompt.version}" if result.prompt.version else ""
    lines.append(
        f"{result.prompt.name}{version} on {result.dataset.name} "
        f"({result.dataset.hash[:12]}): {result.stats.items} results, "
        f"{result.stats.errors} failed, {result.stats.llm_calls} calls, "
        f"{result.stats.cache_hits} from cache" + _cost(result)
    )
    for name, value in result.aggregates.items():
        lines.append(f"  {name:<20} {'-' if value is None else f'{value:.3f}'}")
    for name, run_value in result.run_aggregates.items():
        lines.append(f"  {name:<20} {_cell(run_value)}")
    for check in result.gate.checks:
        mark = "ok  " if check.passed else "FAIL"
        bound = " ".join(
            f"{key} {value:g}"
            for key, value in (("min", check.min), ("max", check.max))
            if value is not None
        )
        lines.append(
            f"gate {mark} {check.evaluator} ({bound})"
            + (f": {check.message}" if check.message else "")
        )
    lines.append(f"run {result.run_id}: gate {'passed' if result.gate.passed else 'FAILED'}")
    return "\n".join(lines)


def _fails(scores: dict[str, ScoreValue]) -> bool:
    return any(
        value is False or (isinstance(value, float) and value < 0.5) for value in scores.values()
    )


def _cell(value: ScoreValue) -> str:
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _short(value: Any, width: int = OUTPUT_WIDTH) -> str:
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cost(result: RunResult) -> str:
    return "" if result.stats.cost is None else f", {usd(result.stats.cost)} spent"
