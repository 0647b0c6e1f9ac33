"""The evaluation API's bodies: datasets on the wire, a run's result, and run listings.

`RunResult` is exactly what `promptrail eval --format json` prints and what the registry
stores and serves back (`POST /api/v1/runs`, `GET /api/v1/runs/{run_id}`): one shape from
the runner to the database to a script, so a stored run reads back identical. Its core keys are
fixed (docs/evaluation.md); everything beyond them is additive.

Scores are numbers, booleans or categories (strings). An aggregate is the mean over the
items that produced a number or a boolean (true = 1); a categorical score has none.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from promptrail.repo.spec import DatasetItem

__all__ = [
    "DatasetInfo",
    "DatasetItem",
    "DatasetList",
    "DatasetRef",
    "DatasetUpload",
    "DatasetVersion",
    "DatasetVersionList",
    "GateCheck",
    "GateResult",
    "ItemComparison",
    "ItemResult",
    "RunComparison",
    "RunCreated",
    "RunList",
    "RunPrompt",
    "RunResult",
    "RunStats",
    "RunSummary",
    "ScoreDelta",
    "ScoreValue",
    "Tokens",
]

ScoreValue = float | bool | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- datasets --------------------------------------------------------------------------------


class DatasetUpload(_Model):
    """A dataset's content sent in a publish; the registry keeps every hash it was sent."""

    name: str
    hash: str  # sha256 of the canonical JSON of `items` (description is metadata)
    description: str | None = None
    items: list[DatasetItem] = Field(default_factory=list)
    path: str | None = None  # file path in the repository
    commit: str | None = None


class DatasetRef(_Model):
    """Which dataset content a run used."""

    name: str
    hash: str
    version: int | None = None  # the registry's number for this hash, when it has one
    path: str | None = None


class DatasetVersion(_Model):
    """One stored dataset version; `items` is left empty in listings."""

    name: str
    version: int  # 1, 2, ... in the order the registry first saw each hash
    hash: str
    description: str | None = None
    item_count: int
    items: list[DatasetItem] = Field(default_factory=list)
    path: str | None = None
    commit: str | None = None
    publish_id: int | None = None
    created_at: str


class DatasetInfo(_Model):
    name: str
    latest_version: int
    latest_hash: str
    description: str | None = None
    item_count: int
    run_count: int = 0
    updated_at: str


class DatasetList(_Model):
    datasets: list[DatasetInfo] = Field(default_factory=list)


class DatasetVersionList(_Model):
    name: str
    versions: list[DatasetVersion] = Field(default_factory=list)  # newest first


# -- a run's result --------------------------------------------------------------------------


class RunPrompt(_Model):
    """The prompt version a run evaluated (a task run names the prompt it wraps, if any)."""

    name: str
    version: int | None = None
    hash: str | None = None
    label: str | None = None  # when fetched by label from the registry
    source: str | None = None  # "worktree", "git:<ref>" or "registry"


class Tokens(_Model):
    input: int | None = None
    output: int | None = None
    total: int | None = None


class ItemResult(_Model):
    """One item (one sample of it, with `--samples N`) and its scores.

    `error` is set when the call or the task failed; its scores are then empty. An
    evaluator that failed on an item leaves no score for it and says why in
    `evaluator_errors`.
    """

    id: str
    output: Any = None
    scores: dict[str, ScoreValue] = Field(default_factory=dict)
    error: str | None = None
    latency_ms: float | None = None
    cost: float | None = None  # USD, from the price table; None when the model is unpriced
    sample: int = 0
    tokens: Tokens | None = None
    trace_id: str | None = None
    input: Any = None
    expected: Any = None
    comments: dict[str, str] = Field(default_factory=dict)  # evaluator name -> reason
    evaluator_errors: dict[str, str] = Field(default_factory=dict)
    cached: bool = False  # answered from the response cache


class GateCheck(_Model):
    """One declared threshold (`gate: {exact: {min: 0.9}}`) and whether the run met it."""

    evaluator: str
    min: float | None = None
    max: float | None = None
    value: float | None = None  # the aggregate it was checked against
    passed: bool
    message: str | None = None


class GateResult(_Model):
    passed: bool
    checks: list[GateCheck] = Field(default_factory=list)


class RunStats(_Model):
    items: int = 0  # results, samples included
    errors: int = 0
    llm_calls: int = 0  # requests made to the endpoint (0 on a rerun from the cache)
    cache_hits: int = 0
    cost: float | None = None  # total USD
    duration_ms: float | None = None


class RunResult(_Model):
    """A finished run: what `eval --format json` prints and what the registry stores."""

    run_id: str
    prompt: RunPrompt
    dataset: DatasetRef
    items: list[ItemResult] = Field(default_factory=list)
    aggregates: dict[str, float | None] = Field(default_factory=dict)  # evaluator -> mean
    gate: GateResult = Field(default_factory=lambda: GateResult(passed=True))
    name: str | None = None  # an experiment name given by the user
    created_at: str | None = None  # ISO 8601, when the run started
    commit: str | None = None  # the git commit evaluated (None: uncommitted working tree)
    ref: str | None = None
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)  # the model parameters sent
    task: str | None = None  # `module:function` when a task function was evaluated
    samples: int = 1
    evaluators: list[dict[str, Any]] = Field(default_factory=list)  # the specs, as declared
    run_aggregates: dict[str, ScoreValue] = Field(default_factory=dict)  # run-level evaluators
    stats: RunStats = Field(default_factory=RunStats)
    metadata: dict[str, Any] = Field(default_factory=dict)


# -- the registry's run endpoints ------------------------------------------------------------


class RunCreated(_Model):
    run_id: str
    url: str | None = None  # the run's page in the web UI


class RunSummary(_Model):
    """A run in a listing: no items."""

    run_id: str
    name: str | None = None
    prompt: RunPrompt
    dataset: DatasetRef
    aggregates: dict[str, float | None] = Field(default_factory=dict)
    gate_passed: bool
    item_count: int
    error_count: int
    commit: str | None = None
    model: str | None = None
    created_at: str


class RunList(_Model):
    runs: list[RunSummary] = Field(default_factory=list)  # newest first


class ScoreDelta(_Model):
    base: ScoreValue | None = None
    head: ScoreValue | None = None
    diff: float | None = None  # head - base, when both are numeric


class ItemComparison(_Model):
    """One item in both runs; `changed` when a score, the output or the error differs."""

    id: str
    sample: int = 0
    base: ItemResult | None = None  # None: the item is not in the base run
    head: ItemResult | None = None
    scores: dict[str, ScoreDelta] = Field(default_factory=dict)
    changed: bool
    verdict_changed: bool = False  # a boolean score flipped


class RunComparison(_Model):
    base: RunSummary
    head: RunSummary
    aggregates: dict[str, ScoreDelta] = Field(default_factory=dict)
    items: list[ItemComparison] = Field(default_factory=list)  # changed verdicts first
