"""The pull-request comment's Evaluation section, from `promptrail eval --base --format json`.

Per changed prompt (and dataset): a table of evaluator, base, head, difference with its
95% interval and verdict; the gate's result; the items whose verdict changed, collapsed;
and a link to the two runs' comparison in the registry's UI. The section renders from the
report alone, so the workflow can evaluate in one step and comment in another.
"""

from __future__ import annotations

import html
import json
from typing import Any

from promptrail.api.verdicts import NO_CHANGE, marked

MAX_ITEMS = 5  # changed items shown per prompt; the UI comparison has them all
MAX_TEXT = 400  # characters of one input or output in the comment
HEADING = "#### Evaluation"


def render_section(report: dict[str, Any]) -> str:
    prompts = report.get("prompts") or []
    base, head = report.get("base") or {}, report.get("head") or {}
    out = [HEADING, ""]
    skipped = report.get("skipped")
    if skipped:
        return "\n".join([*out, f"_{skipped}_", ""])
    if not prompts:
        nothing = "_No prompt, dataset or evaluator changed: nothing to evaluate._"
        return "\n".join([*out, nothing, ""])
    passed = (report.get("gate") or {}).get("passed", True)
    verdict = "✅ gate passed" if passed else "❌ **gate failed**"
    calls = report.get("llm_calls")
    calls_text = f" · {calls:,} LLM calls" if isinstance(calls, int) else ""
    out += [
        f"{verdict} · `{_ref(base)}` → `{_ref(head)}` · {len(prompts)} evaluated{calls_text}",
        "",
        "Same items and samples on both sides; the interval is 95%, and a change whose "
        f"interval includes 0 is {NO_CHANGE}.",
        "",
    ]
    for entry in prompts:
        out += _prompt_block(entry)
    return "\n".join(out).rstrip("\n") + "\n"


def _ref(side: dict[str, Any]) -> str:
    commit = side.get("commit")
    ref = side.get("ref") or "working tree"
    return f"{ref} ({commit[:8]})" if commit and commit != ref else str(ref)


def _prompt_block(entry: dict[str, Any]) -> list[str]:
    base, head = entry.get("base") or {}, entry.get("head") or {}
    gate = entry.get("gate") or {}
    title = f"##### `{entry.get('name')}` on `{entry.get('dataset')}`"
    versions = f"v{base.get('version')} → v{head.get('version')}"
    why = ", ".join(entry.get("changed") or [])
    reused = " · base run reused" if base.get("reused") else ""
    out = [title, "", f"{versions} · changed: {why or '—'}{reused}", ""]
    if entry.get("error"):
        return [*out, f"❌ {entry['error']}", ""]
    out += [
        "| evaluator | base | head | diff (95% CI) | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, found in (entry.get("comparison") or {}).items():
        out.append(
            f"| `{name}` | {_num(found.get('base'))} | {_num(found.get('head'))} "
            f"| {diff_text(found)} | {marked(found.get('verdict'))} |"
        )
    failed = [c for c in gate.get("checks") or [] if not c.get("passed")]
    if failed:
        out += ["", "**Gate failed:**", ""]
        out += [f"- `{c.get('evaluator')}`: {c.get('message') or 'not met'}" for c in failed]
    elif gate:
        out += ["", "Gate: ✅ passed"]
    url = entry.get("compare_url")
    if url:
        out += ["", f"[Compare the two runs item by item]({url})"]
    out.append("")
    items = entry.get("changed_items") or []
    if items:
        out += _items_block(items)
    return out


def _items_block(items: list[dict[str, Any]]) -> list[str]:
    shown = items[:MAX_ITEMS]
    more = len(items) - len(shown)
    out = [
        "<details>",
        f"<summary>{len(items)} item(s) changed; the first {len(shown)}</summary>",
        "",
    ]
    for item in shown:
        flips = ", ".join(f"{name} {how}" for name, how in (item.get("flipped") or {}).items())
        out += [
            f"**`{html.escape(str(item.get('id')))}`**" + (f" · {flips}" if flips else ""),
            "",
            f"- input: {_code(item.get('input'))}",
            f"- base: {_code((item.get('base') or {}).get('output'))}",
            f"- head: {_code((item.get('head') or {}).get('output'))}",
            f"- words: {_word_diff(str(item.get('word_diff') or ''))}",
            "",
        ]
    if more > 0:
        out += [f"_{more} more in the run comparison._", ""]
    out += ["</details>", ""]
    return out


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:.3f}"


def diff_text(found: dict[str, Any]) -> str:
    """`+0.100 [+0.020, +0.180]`: a difference and its interval (`diff`, `ci`)."""
    diff, ci = found.get("diff"), found.get("ci")
    if diff is None:
        return "—"
    if not ci:
        return f"{diff:+.3f}"
    return f"{diff:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    # <code> rather than backticks: the text may hold backticks, and HTML escapes cleanly.
    return "<code>" + html.escape(_clip(text)).replace("\n", " ") + "</code>"


def _word_diff(plain: str) -> str:
    """`[-old-]{+new+}` as <del>/<ins>, which GitHub renders struck and underlined."""
    text = html.escape(_clip(plain)).replace("\n", " ")
    for opener, closer, tag in (("[-", "-]", "del"), ("{+", "+}", "ins")):
        text = text.replace(opener, f"<{tag}>").replace(closer, f"</{tag}>")
    return text
