"""The pull-request comment: the markdown diff, and what production did with each prompt.

For each prompt the pull request changes, the comment shows what the version currently on
`production` did over the last 7 days (calls, p50 latency, cost per call, average score),
read from the registry's tracing metrics, and, for a change that breaks callers of
`production`, which callers (trace names) used the prompt and would break. When another
version of the prompt also served scored traffic (a label, the sticky A/B split), the
section adds their comparison on quality: per score, both means, the difference with its
95% interval and the verdict (`GET /api/v1/metrics/compare`). The numbers are a
courtesy: when the registry is not configured, not reachable, or keeps no traces, the
comment says so and is posted all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from promptrail.api.client import RegistryClient
from promptrail.api.quality import VersionComparison, VersionTraffic
from promptrail.api.verdicts import marked
from promptrail.constants import LATEST, PRODUCTION
from promptrail.errors import PromptNotFound, RegistryError, UsageError
from promptrail.gitops.diff import PromptDiff, RepoDiff, diff_refs
from promptrail.gitops.diffview import render_markdown
from promptrail.gitops.evalcomment import diff_text
from promptrail.gitops.evalcomment import render_section as evaluation_section
from promptrail.repo.repository import PromptRepo
from promptrail.units import NONE, duration_ms, usd

DAYS = 7
TIMEOUT = 5.0  # a slow registry must not hold up the pull request
MAX_CALLERS = 5
NOT_REACHABLE = "registry not reachable: no production numbers"
NOT_CONFIGURED = "no registry configured (PROMPTRAIL_URL): no production numbers"


@dataclass
class Numbers:
    """What one prompt version did over the window; `calls` 0 when nothing was traced."""

    version: int | None  # on production now; None: the prompt has no production label
    calls: int = 0
    p50_ms: float | None = None
    cost: float | None = None
    avg_score: float | None = None
    score_count: int = 0
    callers: list[tuple[str, int]] = field(default_factory=list)  # (trace name, calls)
    quality: VersionComparison | None = None  # against another version with scored traffic

    @property
    def cost_per_call(self) -> float | None:
        return self.cost / self.calls if self.cost is not None and self.calls else None


def build_comment(
    path: str,
    base: str,
    head: str | None = "HEAD",
    *,
    registry: str | None = None,
    api_key: str | None = None,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    evaluation: dict[str, Any] | None = None,
) -> str:
    """The diff, then the evaluation report (`eval --base --format json`) when given, then
    the production numbers."""
    diff = diff_refs(PromptRepo(path), base, head)
    sections = [render_markdown(diff)]
    if evaluation is not None:
        sections.append(evaluation_section(evaluation))
    sections.append(production_section(diff, registry, api_key, now=now, transport=transport))
    return "\n\n".join(s.rstrip("\n") for s in sections if s) + "\n"


def production_section(
    diff: RepoDiff,
    registry: str | None,
    api_key: str | None,
    *,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
) -> str:
    names = [p.name for p in diff.prompts if p.status != "added" and not p.error]
    if not names:
        return ""
    heading = f"#### Production, last {DAYS} days"
    if not registry:
        return f"{heading}\n\n_{NOT_CONFIGURED}_\n"
    end = now or datetime.now(UTC)
    start = end - timedelta(days=DAYS)
    breaking = {p.name for p in diff.breaking}
    try:
        with RegistryClient(registry, api_key, timeout=TIMEOUT, transport=transport) as client:
            numbers = {n: fetch_numbers(client, n, start, end, n in breaking) for n in names}
    except (RegistryError, UsageError) as exc:  # the numbers are a courtesy: post without
        return f"{heading}\n\n_{NOT_REACHABLE}_ ({exc})\n"
    return render_section(heading, diff, numbers)


def fetch_numbers(
    client: RegistryClient, name: str, start: datetime, end: datetime, callers: bool
) -> Numbers:
    try:
        prompt = client.get(name, label=PRODUCTION)
    except PromptNotFound:
        return Numbers(None)
    numbers = Numbers(prompt.version)
    window = {"from": start.isoformat(), "to": end.isoformat(), "prompt_name": name}
    for row in client.metrics("prompt_version", **window).rows:
        if row.prompt_name == name and row.prompt_version == numbers.version:
            numbers.calls = row.count
            numbers.p50_ms = row.latency_p50_ms
            numbers.cost = row.cost
            numbers.avg_score = row.avg_score
            numbers.score_count = row.score_count
    if numbers.calls and numbers.version is not None:
        numbers.quality = fetch_quality(client, name, numbers.version, start, end)
    if callers and numbers.calls:
        rows = client.metrics("name", unit="traces", **window).rows
        rows = sorted(rows, key=lambda r: -r.count)
        numbers.callers = [(r.key or "(unnamed)", r.count) for r in rows]
    return numbers


def fetch_quality(
    client: RegistryClient, name: str, version: int, start: datetime, end: datetime
) -> VersionComparison | None:
    """Production against the newest other version with traffic, when both have scores."""
    try:
        found = client.compare_versions(
            name, base=version, since=start.isoformat(), until=end.isoformat()
        )
    except RegistryError as exc:
        if exc.status in (404, 422):  # no other version served traffic (or an old registry)
            return None
        raise
    return found if found.scores else None


# -- rendering ------------------------------------------------------------------------------


def render_section(heading: str, diff: RepoDiff, numbers: dict[str, Numbers]) -> str:
    out = [
        heading,
        "",
        "What the version on `production` did before this change (the registry's traces).",
        "",
        "| prompt | on production | calls | p50 latency | cost / call | avg score |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, n in numbers.items():
        if n.version is None:
            out.append(f"| `{name}` | not on production | | | | |")
            continue
        if not n.calls:
            out.append(f"| `{name}` | v{n.version} | no calls traced | | | |")
            continue
        score = f"{n.avg_score:.2f} ({n.score_count})" if n.avg_score is not None else NONE
        out.append(
            f"| `{name}` | v{n.version} | {n.calls:,} | {duration_ms(n.p50_ms)} "
            f"| {usd(n.cost_per_call)} | {score} |"
        )
    out += _quality_rows(numbers)
    warnings = [_breaking_line(p, numbers.get(p.name)) for p in diff.breaking]
    if warnings:
        out += ["", "**Callers that would break:**", "", *warnings]
    return "\n".join(out) + "\n"


def _quality_rows(numbers: dict[str, Numbers]) -> list[str]:
    found = {name: n.quality for name, n in numbers.items() if n.quality is not None}
    if not found:
        return []
    limit = max(q.sample_limit for q in found.values())
    out = [
        "",
        "**Quality on live traffic**: the version on `production` against the newest other "
        f"version serving traffic, on the scores of their generations (the newest {limit:,} "
        "per version); unpaired 95% interval.",
        "",
        "| prompt | score | base | head | diff (95% CI) | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, quality in found.items():
        base, head = quality.base, quality.head
        for row in quality.scores:
            cut = " (sampled)" if row.truncated else ""
            out.append(
                f"| `{name}` | `{row.name}`{cut} "
                f"| {_version(base)}: {_mean(row.base_mean, row.base_n)} "
                f"| {_version(head)}: {_mean(row.head_mean, row.head_n)} "
                f"| {diff_text(row.model_dump())} | {marked(row.verdict)} |"
            )
    return out


def _version(side: VersionTraffic) -> str:
    labels = [label for label in side.labels if label != LATEST]
    return f"v{side.version}" + (f" ({', '.join(labels)})" if labels else "")


def _mean(value: float | None, n: int) -> str:
    return "—" if value is None else f"{value:.3f} ({n:,})"


def _breaking_line(item: PromptDiff, numbers: Numbers | None) -> str:
    reasons = "; ".join(item.breaking)
    line = f"- ⚠️ `{item.name}`: {reasons}."
    if numbers is None or numbers.version is None:
        return line
    if not numbers.calls:
        return line + f" No calls to v{numbers.version} traced in the last {DAYS} days."
    shown = numbers.callers[:MAX_CALLERS]
    names = ", ".join(f"`{caller}` ({calls:,} calls)" for caller, calls in shown)
    more = len(numbers.callers) - len(shown)
    tail = f" and {more} more" if more > 0 else ""
    who = f": {names}{tail}" if names else ""
    return line + f" {numbers.calls:,} calls to v{numbers.version} in the last {DAYS} days{who}."
