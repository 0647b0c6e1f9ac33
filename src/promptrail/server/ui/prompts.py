"""Prompt pages: the list as a folder tree, and one prompt with everything the registry knows.

A prompt's page shows its versions (with the commit each came from), labels, every label
move, a diff of any two versions, a preview that compiles a version with typed-in values,
and per-version calls, latency, tokens, cost and scores, which is how A/B variants are
compared. Prompts are edited in git; the page links to the file, never edits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptrail.api.quality import VersionComparison
from promptrail.api.registry import PromptSummary
from promptrail.errors import InvalidRequest, NotFound
from promptrail.repo.spec import is_valid_name
from promptrail.server.ui.auth import Viewing
from promptrail.server.ui.common import days_param, int_param, read, render
from promptrail.server.ui.compare import (
    commit_url,
    compile_preview,
    diff_lines,
    diff_versions,
    edit_url,
    inputs_of,
)
from promptrail.server.ui.dashboard import first_day, refresh
from promptrail.store import registry as queries
from promptrail.store import ui_rollup as rollup
from promptrail.store import ui_sums as sums
from promptrail.store import version_compare
from promptrail.store.ui_queries import latest_source, latest_types, prompt_meta, publish_sources

router = APIRouter(include_in_schema=False)
VAR_PREFIX = "var."


@dataclass
class TreeRow:
    depth: int
    folder: str | None = None  # a folder row
    prompt: PromptSummary | None = None
    type: str | None = None
    calls: int = 0


def folder_tree(
    prompts: list[PromptSummary], types: dict[str, str], calls: dict[str, int]
) -> list[TreeRow]:
    """Rows in name order, with a row for each folder before its first prompt."""
    rows: list[TreeRow] = []
    opened: list[str] = []
    for prompt in sorted(prompts, key=lambda p: p.name.split("/")):
        folders = prompt.name.split("/")[:-1]
        common = 0
        while common < min(len(opened), len(folders)) and opened[common] == folders[common]:
            common += 1
        for depth in range(common, len(folders)):
            rows.append(TreeRow(depth, folder="/".join(folders[: depth + 1]) + "/"))
        opened = folders
        rows.append(
            TreeRow(
                len(folders),
                prompt=prompt,
                type=types.get(prompt.name),
                calls=calls.get(prompt.name, 0),
            )
        )
    return rows


@router.get("/prompts")
async def prompt_list(request: Request, viewer: Viewing) -> Response:
    first = first_day(7)
    await refresh(request, first)

    def load(conn: Connection) -> tuple[list[PromptSummary], dict[str, str], dict[str, int]]:
        listing = queries.list_prompts(conn)
        week = rollup.totals(conn, sums.prompts_t, first, ["prompt_name"])
        calls = {row["prompt_name"]: int(row["generations"]) for row in week}
        return listing.prompts, latest_types(conn), calls

    prompts, types, calls = await read(request, load)
    return render(
        request, "prompts.html", rows=folder_tree(prompts, types, calls), count=len(prompts)
    )


@dataclass
class VersionStats:
    version: int
    calls: int = 0
    p50: float | None = None
    p95: float | None = None
    tokens: int = 0
    cost: float | None = None
    errors: int = 0
    scores: dict[str, tuple[float, int]] = field(default_factory=dict)

    @property
    def cost_per_call(self) -> float | None:
        return None if self.cost is None or not self.calls else self.cost / self.calls

    @property
    def tokens_per_call(self) -> int | None:
        return None if not self.calls else round(self.tokens / self.calls)


@router.get("/prompts/{name:path}")
async def prompt_page(request: Request, name: str, viewer: Viewing) -> Response:
    if not is_valid_name(name):
        raise NotFound(f"no prompt named {name!r}: that is not a valid prompt name")
    params = request.query_params
    days = days_param(int_param(params.get("days")))
    given = {k[len(VAR_PREFIX) :]: v for k, v in params.items() if k.startswith(VAR_PREFIX)}
    await refresh(request, first_day(days))

    def load(conn: Connection) -> dict[str, Any]:
        versions = queries.versions(conn, name).versions  # NotFound: a 404 page
        numbers = [v.version for v in versions]
        state = queries.state(conn, [name]).prompts.get(name)
        history = queries.label_history(conn, name).events
        ids = {v.publish_id for v in versions} | {e.publish_id for e in history}
        sources = publish_sources(conn, {i for i in ids if i is not None})
        latest = latest_source(conn)
        selected = int_param(params.get("version"))
        selected = selected if selected in numbers else (numbers[0] if numbers else None)
        body = queries.get(conn, name, version=selected) if selected else None
        old, new = int_param(params.get("old")), int_param(params.get("new"))
        if old not in numbers or new not in numbers:
            old, new = (numbers[1], numbers[0]) if len(numbers) > 1 else (None, None)
        diff = None
        if old is not None and new is not None:
            diff = diff_versions(
                name,
                queries.get(conn, name, version=old),
                queries.get(conn, name, version=new),
            )
        first = first_day(days)
        summed = rollup.totals(conn, sums.prompts_t, first, ["prompt_version"], prompt=name)
        scored = rollup.totals(
            conn, sums.prompt_scores_t, first, ["prompt_version", "name"], prompt=name
        )
        latency = rollup.latency_percentiles(conn, first, name)
        quality, quality_note = _quality(conn, name, first)
        return {
            "versions": versions,
            "labels": dict(sorted((state.labels if state else {}).items())),
            "history": history,
            "sources": sources,
            "latest_source": latest,
            "meta": prompt_meta(conn, name),
            "selected": selected,
            "body": body,
            "diff": diff,
            "stats": _stats(numbers, summed, scored, latency),
            "score_names": sorted({row["name"] for row in scored}),
            "quality": quality,
            "quality_note": quality_note,
        }

    page = await read(request, load)
    body = page["body"]
    preview = None
    if body is not None and "preview" in params:
        preview = await run_in_threadpool(compile_preview, body, given)
    repo = page["latest_source"].repository_url if page["latest_source"] else None

    def commit_link(publish_id: int | None, commit: str | None) -> str | None:
        source = page["sources"].get(publish_id) if publish_id is not None else None
        return commit_url((source.repository_url if source else None) or repo, commit)

    path = page["meta"].path if page["meta"] else None
    # The file lives where this prompt's newest version was published from, if known.
    newest = page["versions"][0].publish_id if page["versions"] else None
    source = page["sources"].get(newest) if newest is not None else None
    if source is None or not source.repository_url:
        source = page["latest_source"]
    return render(
        request,
        "prompt.html",
        name=name,
        days=days,
        path=path,
        edit_link=edit_url(source, path),
        inputs=inputs_of(body) if body else None,
        given=given,
        preview=preview,
        commit_link=commit_link,
        diff_lines=diff_lines,
        **page,
    )


def _quality(
    conn: Connection, name: str, first: Any
) -> tuple[VersionComparison | None, str | None]:
    """Production against the newest other version with traffic since `first` (a UTC day),
    or why there is nothing to compare."""
    start = datetime.combine(first, time.min, tzinfo=UTC)
    try:
        found = version_compare.compare(conn, name, None, None, start, datetime.now(UTC))
    except InvalidRequest as exc:
        return None, str(exc)
    if not found.scores:
        return None, (
            f"v{found.base.version} and v{found.head.version} both served traffic, but no "
            "score is on both: `promptrail eval PROMPT --traces` scores it"
        )
    return found, None


def _stats(
    numbers: list[int],
    summed: list[dict[str, Any]],
    scored: list[dict[str, Any]],
    latency: dict[int, tuple[float | None, float | None]],
) -> list[VersionStats]:
    by_version = {row["prompt_version"]: row for row in summed}
    out = []
    for version in numbers:
        stats = VersionStats(version)
        row = by_version.get(version)
        if row is not None:
            stats.calls, stats.tokens = int(row["generations"]), int(row["total_tokens"])
            stats.cost, stats.errors = float(row["cost"]), int(row["errors"])
        stats.p50, stats.p95 = latency.get(version, (None, None))
        out.append(stats)
    for row in scored:
        for stats in out:
            if stats.version == row["prompt_version"] and row["score_n"]:
                stats.scores[row["name"]] = (row["score_sum"] / row["score_n"], row["score_n"])
    return out
