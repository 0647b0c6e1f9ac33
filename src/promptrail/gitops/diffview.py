"""A `RepoDiff` as terminal text, a pull-request comment (markdown) or JSON.

The JSON shape is stable (documented in docs/prompt-files.md); the markdown starts with
the marker `constants.COMMENT_MARKER` so a bot can find its comment and edit it in place,
and stays under GitHub's comment size by collapsing what does not fit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from promptrail.constants import COMMENT_MARKER, LATEST
from promptrail.gitops.diff import Change, PromptDiff, RepoDiff

FORMATS = ("text", "markdown", "json")
MAX_DIFF_LINES = 150  # per prompt in a comment; the rest is one `promptrail diff` away
MAX_COMMENT_CHARS = 60_000  # GitHub refuses comments over 65,536 characters


def _where(diff: RepoDiff) -> str:
    return f"{diff.base} → {diff.head or 'working tree'}"


def summary(diff: RepoDiff) -> str:
    if not diff.prompts:
        return f"no prompt changes ({_where(diff)})"
    n = len(diff.prompts)
    parts = [f"{diff.count(s)} {s}" for s in ("added", "removed", "changed") if diff.count(s)]
    breaking = len(diff.breaking)
    tail = f"; {breaking} breaking" if breaking else ""
    return f"{n} prompt{'s' if n != 1 else ''} changed ({_where(diff)}): {', '.join(parts)}{tail}"


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _change_text(change: Change, show: Callable[[Any], str]) -> str:
    if change.change == "added":
        return f"{change.key}: added {show(change.new)}"
    if change.change == "removed":
        return f"{change.key}: removed (was {show(change.old)})"
    return f"{change.key}: {show(change.old)} → {show(change.new)}"


def label_text(change: Change) -> str:
    """`production: v3 → v4`, `staging: added v5`, `canary: removed (was v2)`."""
    return _change_text(change, lambda version: f"v{version}")


def config_text(change: Change) -> str:
    return _change_text(change, _value)


def version_text(item: PromptDiff) -> str:
    if item.status == "added":
        return f"v{item.new_version}"
    if item.status == "removed" or item.new_version is None:
        return f"v{item.old_version}" if item.old_version else ""
    if item.old_version == item.new_version:
        return f"v{item.new_version}"
    return f"v{item.old_version} → v{item.new_version}"


def _added_removed(added: list[str], removed: list[str], quote: str = "") -> str:
    return " ".join(
        [f"+{quote}{v}{quote}" for v in added] + [f"-{quote}{v}{quote}" for v in removed]
    )


def facts(item: PromptDiff, code: str = "") -> list[tuple[str, str]]:
    """(heading, text) lines describing one prompt's change, in reading order."""
    lines: list[tuple[str, str]] = []
    if item.error:
        lines.append(("error", item.error))
    if item.old_type and item.new_type and item.old_type != item.new_type:
        lines.append(("type", f"{item.old_type} → {item.new_type}"))
    if item.labels:
        lines.append(("labels", ", ".join(label_text(c) for c in item.labels)))
    if item.variables_added or item.variables_removed:
        lines.append(
            ("variables", _added_removed(item.variables_added, item.variables_removed, code))
        )
    if item.placeholders_added or item.placeholders_removed:
        text = _added_removed(item.placeholders_added, item.placeholders_removed, code)
        lines.append(("placeholders", text))
    if item.config:
        lines.append(("config", "; ".join(config_text(c) for c in item.config)))
    if item.tags_added or item.tags_removed:
        lines.append(("tags", _added_removed(item.tags_added, item.tags_removed)))
    if item.description:
        old, new = item.description
        lines.append(("description", f"{_value(old)} → {_value(new)}"))
    return lines


def diff_blocks(item: PromptDiff) -> list[tuple[str, str]]:
    """(title, unified diff) for the text and for each changed message."""
    blocks = []
    if item.text_diff:
        blocks.append(("prompt", item.text_diff))
    for message in item.messages:
        role = message.new_role or message.old_role
        blocks.append((f"messages[{message.index}] ({role}, {message.change})", message.diff))
    return blocks


# -- text ---------------------------------------------------------------------------------

_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def render_text(diff: RepoDiff, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    out: list[str] = []
    for item in diff.prompts:
        head = f"{_SIGN[item.status]} {item.name}"
        out.append(f"{paint(head, '1')}  {version_text(item)}  ({item.path})")
        for reason in item.breaking:
            out.append("    " + paint(f"BREAKING: {reason}", "1;33"))
        for heading, text in facts(item):
            out.append(f"    {heading}: {text}")
        for title, body in diff_blocks(item):
            out.append(f"    {paint(title, '36')}")
            for line in body.splitlines():
                if line.startswith(("+++", "---")):
                    continue
                style = {"+": "32", "-": "31", "@": "36"}.get(line[:1])
                out.append("      " + (paint(line, style) if style else line))
        out.append("")
    out.append(summary(diff))
    return "\n".join(out) + "\n"


# -- markdown -----------------------------------------------------------------------------

_STATUS_MD = {"added": "added", "removed": "removed", "changed": "changed"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def _fence(body: str) -> str:
    ticks = 3  # a fence longer than any run of backticks inside
    while "`" * ticks in body:
        ticks += 1
    return "`" * ticks


def _table(diff: RepoDiff) -> list[str]:
    rows = [
        "| prompt | change | version | labels | variables | flags |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in diff.prompts:
        labels = ", ".join(label_text(c) for c in item.labels if c.key != LATEST)
        variables = _added_removed(
            item.variables_added + item.placeholders_added,
            item.variables_removed + item.placeholders_removed,
            "`",
        )
        flags = []
        if item.is_breaking:
            flags.append("⚠️ **breaking**")
        if item.error:
            flags.append("❌ does not parse")
        if item.config:
            flags.append("config")
        if item.status == "changed" and not item.content_changed and not item.error:
            flags.append("labels/metadata only")
        rows.append(
            f"| `{_cell(item.name)}` | {_STATUS_MD[item.status]} | {version_text(item)} "
            f"| {_cell(labels)} | {_cell(variables)} | {_cell(', '.join(flags))} |"
        )
    return rows


def _details(item: PromptDiff) -> list[str]:
    flag = " · ⚠️ breaking" if item.is_breaking else ""
    out = [
        "<details>",
        f"<summary><code>{item.name}</code> · {item.status} · {version_text(item)}{flag}</summary>",
        "",
        f"`{item.path}`",
        "",
    ]
    for reason in item.breaking:
        out += [f"> ⚠️ **Breaking:** {reason}", ""]
    for heading, text in facts(item, "`"):
        if heading != "config":
            out.append(f"- **{heading}:** {text}")
    if item.config:
        out += ["- **config:**", "", "  | key | before | after |", "  | --- | --- | --- |"]
        for change in item.config:
            old = "" if change.change == "added" else f"`{_cell(_value(change.old))}`"
            new = "" if change.change == "removed" else f"`{_cell(_value(change.new))}`"
            out.append(f"  | `{_cell(change.key)}` | {old or '—'} | {new or '—'} |")
    out.append("")
    for title, body in diff_blocks(item):
        lines = body.splitlines()
        if len(lines) > MAX_DIFF_LINES:
            more = len(lines) - MAX_DIFF_LINES
            lines = [*lines[:MAX_DIFF_LINES], f"… {more} more lines (run `promptrail diff`)"]
        text = "\n".join(lines)
        fence = _fence(text)
        out += [f"**{title}**", "", f"{fence}diff", text, fence, ""]
    out += ["</details>", ""]
    return out


def render_markdown(diff: RepoDiff) -> str:
    """A pull-request comment: summary table, then one collapsed block per prompt."""
    out = [COMMENT_MARKER, f"### promptrail: {summary(diff)}", ""]
    if not diff.prompts:
        return "\n".join(out) + "\n"
    if diff.breaking:
        out += [
            f"> ⚠️ {len(diff.breaking)} change(s) break callers of `production`: "
            "deploy the callers first, or stage the new version under another label.",
            "",
        ]
    out += [*_table(diff), ""]
    size = sum(len(line) + 1 for line in out)
    left_out = []
    for item in diff.prompts:
        block = _details(item)
        block_size = sum(len(line) + 1 for line in block)
        if size + block_size > MAX_COMMENT_CHARS:
            left_out.append(item.name)
            continue
        out += block
        size += block_size
    if left_out:
        out.append(
            f"_{len(left_out)} more prompt(s) did not fit in one comment "
            f"({', '.join(left_out[:10])}{', …' if len(left_out) > 10 else ''}): "
            f"run `promptrail diff {diff.base}` to see them._"
        )
    return "\n".join(out).rstrip("\n") + "\n"


# -- json ---------------------------------------------------------------------------------


def as_json(diff: RepoDiff) -> dict[str, Any]:
    prompts = []
    for item in diff.prompts:
        data = asdict(item)
        prompts.append(
            {
                "name": item.name,
                "path": item.path,
                "status": item.status,
                "version": {"old": item.old_version, "new": item.new_version},
                "type": {"old": item.old_type, "new": item.new_type},
                "content_changed": item.content_changed,
                "text_diff": item.text_diff or None,
                "messages": data["messages"],
                "config": [_change(c) for c in item.config],
                "labels": [_change(c) for c in item.labels],
                "variables": {"added": item.variables_added, "removed": item.variables_removed},
                "placeholders": {
                    "added": item.placeholders_added,
                    "removed": item.placeholders_removed,
                },
                "tags": {"added": item.tags_added, "removed": item.tags_removed},
                "description": (
                    {"old": item.description[0], "new": item.description[1]}
                    if item.description
                    else None
                ),
                "breaking": item.breaking,
                "error": item.error,
            }
        )
    return {
        "base": diff.base,
        "head": diff.head,
        "summary": {
            "added": diff.count("added"),
            "removed": diff.count("removed"),
            "changed": diff.count("changed"),
            "breaking": len(diff.breaking),
        },
        "prompts": prompts,
    }


def _change(change: Change) -> dict[str, Any]:
    return {"key": change.key, "change": change.change, "old": change.old, "new": change.new}


def render_json(diff: RepoDiff) -> str:
    return json.dumps(as_json(diff), indent=2, ensure_ascii=False, default=str)


def render(diff: RepoDiff, fmt: str, color: bool = False) -> str:
    if fmt == "markdown":
        return render_markdown(diff)
    if fmt == "json":
        return render_json(diff)
    return render_text(diff, color)
