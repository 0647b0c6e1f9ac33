"""A plan as text (grouped by prompt, for people and CI logs) and as JSON (for scripts)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptrail.gitops.plan import Plan


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(plan: Plan) -> str:
    changed = len(plan.changed_names())
    unchanged = f"({plan.prompts - changed} of {plural(plan.prompts, 'prompt')} unchanged)"
    if plan.empty and plan.preview_label:
        # Previews carry content only; a description, tag or label edit lands on merge.
        head = (
            f"Preview {plan.preview_label}: nothing to upload, the registry already has the "
            f"content of every prompt ({plural(plan.prompts, 'prompt')}); metadata and label "
            "changes are published on merge"
        )
    elif plan.empty:
        head = f"No changes: the registry matches git ({plural(plan.prompts, 'prompt')})"
    elif plan.preview_label:
        # One preview content per prompt: previews never create versions.
        head = (
            f"Preview {plan.preview_label}: {plural(len(plan.versions), 'prompt')} to upload, "
            f"{plural(len(plan.labels), 'label change')} {unchanged}"
        )
    else:
        parts = [
            f"{plural(len(plan.versions), 'version')} to create",
            plural(len(plan.labels), "label change"),
        ]
        if plan.metadata:
            parts.append(plural(len(plan.metadata), "metadata update"))
        if plan.datasets:
            parts.append(plural(len(plan.datasets), "dataset version"))
        head = "Plan: " + ", ".join(parts) + f" {unchanged}"
    extra = []
    if plan.kept:
        extra.append(f"{plural(len(plan.kept), 'deleted prompt')} kept")
    if plan.drift:
        extra.append(plural(len(plan.drift), "drifted version"))
    if plan.problems:
        extra.append(plural(len(plan.problems), "problem"))
    return head + (f"; {', '.join(extra)}" if extra else "") + "."


def render_text(plan: Plan, quiet: bool = False) -> str:
    """Every change grouped by prompt, then drift, problems and the summary; `quiet` keeps
    only the last three (a 2,000-prompt publish in a CI log)."""
    lines: dict[str, list[str]] = {}
    for version in plan.versions:
        origin = version.origin
        where = (
            f" (commit {origin.sha[:7]}, {origin.author.split(' <')[0]}: {origin.message!r})"
            if origin
            else " (uncommitted)"
        )
        what = "preview of version" if plan.preview_label else "version"
        lines.setdefault(version.name, []).append(
            f"  + {what} {version.version} [{version.hash[:12]}]: {version.reason}{where}"
        )
    for change in plan.labels:
        if change.kind == "add":
            what = f"+ label {change.label} -> {change.to}"
        elif change.kind == "move":
            what = f"~ label {change.label}: {change.previous} -> {change.to}"
        else:
            what = f"- label {change.label} (was on {change.previous})"
        lines.setdefault(change.name, []).append(f"  {what}: {change.reason}")
    for meta in plan.metadata:
        lines.setdefault(meta.name, []).append(
            f"  ~ {meta.field}: {json.dumps(meta.old)} -> {json.dumps(meta.new)}"
        )
    for note in plan.kept:
        lines.setdefault(note.name, []).append(f"  = {note.message}")
    for dataset in plan.datasets:
        lines.setdefault(f"dataset {dataset.name}", []).append(
            f"  + content [{dataset.hash[:12]}]: {len(dataset.items)} items ({dataset.path})"
        )

    out: list[str] = []
    for name in sorted(lines) if not quiet else ():
        out.append(name)
        out.extend(lines[name])
    if plan.drift:
        out.append("")
        out.append("Drift (in the registry but not in git; a publish does not undo it):")
        out.extend(f"  {note.name}: {note.message}" for note in plan.drift)
    if plan.problems:
        out.append("")
        out.append("Problems (nothing is published until they are fixed):")
        out.extend(f"  {problem}" for problem in plan.problems)
    if out:
        out.append("")
    out.append(summary(plan))
    return "\n".join(out)


def as_dict(plan: Plan) -> dict[str, Any]:
    return {
        "empty": plan.empty,
        "in_sync": plan.in_sync,
        "preview_label": plan.preview_label,
        "summary": {
            "prompts": plan.prompts,
            "unchanged": plan.prompts - len(plan.changed_names()),
            "versions": len(plan.versions),
            "labels": len(plan.labels),
            "metadata": len(plan.metadata),
            "datasets": len(plan.datasets),
        },
        "versions": [
            {
                "name": v.name,
                "version": v.version,
                "hash": v.hash,
                "path": v.path,
                "commit": v.origin.sha if v.origin else None,
                "reason": v.reason,
            }
            for v in plan.versions
        ],
        "labels": [
            {
                "name": c.name,
                "label": c.label,
                "action": c.kind,
                "from": c.previous,
                "to": c.to,
                "reason": c.reason,
            }
            for c in plan.labels
        ],
        "metadata": [
            {"name": m.name, "field": m.field, "old": m.old, "new": m.new} for m in plan.metadata
        ],
        "datasets": [
            {"name": d.name, "hash": d.hash, "items": len(d.items), "path": d.path}
            for d in plan.datasets
        ],
        "kept": [{"name": n.name, "message": n.message} for n in plan.kept],
        "drift": [{"name": n.name, "message": n.message} for n in plan.drift],
        "problems": [
            {"file": p.file, "line": p.line, "message": p.message, "code": p.code, "name": p.name}
            for p in plan.problems
        ],
    }
