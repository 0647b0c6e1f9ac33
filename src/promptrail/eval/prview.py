"""`promptrail eval --base` on a terminal: per prompt the comparison, the gate, the items."""

from __future__ import annotations

from typing import Any

from promptrail.api.verdicts import words

SHOWN_ITEMS = 5


def render_text(report: dict[str, Any]) -> str:
    if "scored" in report:  # eval --traces
        return _traces(report)
    if "scored_prompts" in report:  # eval --traces --all
        entries = report.get("prompts") or []
        if not entries:
            return "no prompt has evals: in the repository: nothing to score"
        return "\n".join(_traces(entry) for entry in entries)
    prompts = report.get("prompts") or []
    base, head = report.get("base") or {}, report.get("head") or {}
    out = [f"{base.get('ref')} -> {head.get('ref')}: {len(prompts)} prompt evaluation(s)"]
    if not prompts:
        out.append("no prompt, dataset or evaluator changed: nothing to evaluate")
    for entry in prompts:
        out += ["", *_entry(entry)]
    passed = (report.get("gate") or {}).get("passed", True)
    out += [
        "",
        f"gate: {'passed' if passed else 'FAILED'} · {report.get('llm_calls', 0)} LLM calls",
    ]
    return "\n".join(out)


def _entry(entry: dict[str, Any]) -> list[str]:
    base, head = entry.get("base") or {}, entry.get("head") or {}
    reused = ", base run reused" if base.get("reused") else ""
    out = [
        f"{entry['name']} on {entry['dataset']}: v{base.get('version', '-')} -> "
        f"v{head.get('version')} ({', '.join(entry.get('changed') or [])}{reused})"
    ]
    rows = [("evaluator", "base", "head", "diff [95% CI]", "verdict")]
    for name, found in (entry.get("comparison") or {}).items():
        ci = found.get("ci")
        interval = f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""
        diff = "-" if found.get("diff") is None else f"{found['diff']:+.3f}{interval}"
        rows.append(
            (name, _num(found.get("base")), _num(found.get("head")), diff, words(found["verdict"]))
        )
    if len(rows) > 1:
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        out += [
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
        ]
    for check in (entry.get("gate") or {}).get("checks") or []:
        if not check.get("passed"):
            out.append(f"  gate FAILED: {check.get('evaluator')}: {check.get('message')}")
    items = entry.get("changed_items") or []
    for item in items[:SHOWN_ITEMS]:
        flips = ", ".join(f"{k} {v}" for k, v in (item.get("flipped") or {}).items())
        out.append(f"  {item['id']}{': ' + flips if flips else ''}")
        out.append(f"    {item.get('word_diff')}")
    if len(items) > SHOWN_ITEMS:
        out.append(f"  ... {len(items) - SHOWN_ITEMS} more changed item(s) (--format json)")
    if entry.get("compare_url"):
        out.append(f"  compare: {entry['compare_url']}")
    return out


def _traces(report: dict[str, Any]) -> str:
    out = [
        f"{report['prompt']}: {report['scored']} generation(s) scored, "
        f"{report['skipped']} already scored, {report['considered']} considered "
        f"since {report['since']}"
    ]
    for name, mean in (report.get("aggregates") or {}).items():
        out.append(f"  {name}: {_num(mean)}")
    return "\n".join(out)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"
