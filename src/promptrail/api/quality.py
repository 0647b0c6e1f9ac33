"""`GET /api/v1/metrics/compare`: two versions of a prompt serving traffic, side by side.

Per score name, each version's mean over its scored generations (scores on the
generation or on its trace, one per generation and name: the newest), the difference
(head - base) with a 95% interval and a verdict; per version, its calls, latency and
cost per call. The interval is unpaired (different traffic on each side): see
`eval/stats.py:compare_unpaired` and docs/evaluation.md.

`parse_time` reads the `since` / `until` the endpoint and `promptrail eval --traces
--since` take: `30m`, `24h`, `7d`, `2w` back from now, or an ISO 8601 date or time (UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from promptrail.api.inputs import as_utc
from promptrail.api.verdicts import Verdict, VerdictText

SAMPLE_LIMIT = 5_000  # newest scored generations per version and score name
DEFAULT_SINCE = "7d"
METHOD = (
    "unpaired percentile bootstrap of the difference of means: each version's scores "
    "resampled alone, 2,000 times, fixed seed"
)

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIME_HINT = "give 24h, 7d, 30m, or a date like 2026-12-01"


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """`7d` back from `now`, or an ISO 8601 date or time (UTC when it has no offset)."""
    now = now or datetime.now(UTC)
    found = _DURATION.match(text.strip())
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r}: {TIME_HINT}") from None
    return as_utc(when)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionTraffic(_Out):
    """What one version did over the range (every generation, not only the scored)."""

    version: int
    labels: list[str] = Field(default_factory=list)
    calls: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_per_call: float | None  # None: no generation had a cost


class ScoreComparison(_Out):
    name: str
    base_mean: float | None
    base_n: int  # values compared (at most sample_limit)
    head_mean: float | None
    head_n: int
    diff: float | None  # head - base
    ci: tuple[float, float] | None  # 95% interval of diff
    verdict: Verdict  # the code `promptrail eval --base` uses
    verdict_text: VerdictText  # improvement | regression | no detectable change
    truncated: bool  # a side had more scored generations than sample_limit


class VersionComparison(_Out):
    prompt: str
    start: str
    end: str
    base: VersionTraffic
    head: VersionTraffic
    scores: list[ScoreComparison]  # names scored on both versions, by name
    only_base: list[str] = Field(default_factory=list)  # score names on one side only
    only_head: list[str] = Field(default_factory=list)
    sample_limit: int
    truncated: bool  # any score name's sample was cut to the newest sample_limit
    confidence: float = 0.95
    method: str = METHOD
