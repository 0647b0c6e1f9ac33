"""The tracing API's bodies: ingest events in, traces, sessions, scores and metrics out.

Imported by the server and tests only; the SDK writes the same shapes as plain dicts
(`events.py`) so that tracing never imports pydantic. docs/tracing.md describes the
format for people writing their own exporters.

Unknown fields in an event body are ignored, so an older server accepts a newer SDK.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    model_validator,
)

from promptrail.api.inputs import MAX_NUMBER, Storable
from promptrail.units import round_usd

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Name = Annotated[str, Field(max_length=200)]
Level = Literal["DEBUG", "DEFAULT", "WARNING", "ERROR"]
ObservationType = Literal["span", "event", "generation"]
ScoreDataType = Literal["numeric", "boolean", "categorical"]
ScoreSource = Literal["api", "sdk", "annotation", "eval"]  # eval: `eval --traces`
Count = Annotated[int, Field(ge=0, le=10**12)]  # tokens: sums over millions of rows fit
Money = Annotated[float, Field(ge=0, le=MAX_NUMBER)]
# A cost as the API answers it: sums of floats lose their ...0000000001 tails.
Usd = Annotated[float, AfterValidator(round_usd)]
Number = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- ingest ----------------------------------------------------------------------------------


class Usage(_Body):
    """Token counts. `cached` is the part of `input` read from a cache; `reasoning` the part
    of `output` spent on reasoning. `total` defaults to input + output."""

    input: Count | None = None
    output: Count | None = None
    total: Count | None = None
    cached: Count | None = None
    reasoning: Count | None = None


class Cost(_Body):
    """Cost in USD. Given by the caller, it wins over the price table."""

    input: Money | None = None
    output: Money | None = None
    total: Money | None = None


class PromptRef(_Body):
    """The prompt version a generation used: name, version, the label it was fetched by
    and the content hash (proof of what ran, even if the label moved since)."""

    name: Name
    version: int | None = Field(default=None, ge=0, le=2**31 - 1)
    label: str | None = Field(default=None, max_length=63)
    hash: str | None = Field(default=None, max_length=64)


class PromptLink(PromptRef):
    """A stored link: `resolved` says whether the registry holds that version (with that
    hash), checked when an OTLP span names a prompt; None when not checked (the SDK's own
    links come from prompts it fetched from the registry)."""

    resolved: bool | None = None


class TraceBody(_Body):
    id: Id
    name: Name | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    user_id: Name | None = None
    session_id: Name | None = None
    tags: list[Name] | None = None
    metadata: Any = None
    release: Name | None = None
    environment: Name | None = None
    input: Any = None
    output: Any = None
    public: StrictBool | None = None


class ObservationBody(_Body):
    id: Id
    trace_id: Id
    parent_id: Id | None = None
    type: ObservationType = "span"
    name: Name | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    completion_start_time: datetime | None = None
    level: Level | None = None
    status_message: str | None = None
    version: Name | None = None
    input: Any = None
    output: Any = None
    metadata: Any = None
    model: Name | None = None
    model_parameters: dict[str, Any] | None = None
    usage: Usage | None = None
    cost: Cost | None = None
    prompt: PromptRef | None = None


class ObservationUpdateBody(ObservationBody):
    type: ObservationType | None = None  # type: ignore[assignment]


class ScoreBody(_Body, Storable):
    """A score on a trace, an observation (give its trace_id too) or a session."""

    id: Id | None = None  # the server assigns one when missing (then it is not idempotent)
    name: Name
    value: bool | Number | str
    data_type: ScoreDataType | None = None
    trace_id: Id | None = None
    observation_id: Id | None = None
    session_id: Name | None = None
    source: ScoreSource = "api"
    comment: str | None = Field(default=None, max_length=10_000)
    timestamp: datetime | None = None
    metadata: Any = None

    @model_validator(mode="after")
    def _target_and_type(self) -> ScoreBody:
        if self.trace_id is None and self.session_id is None:
            raise ValueError("a score needs trace_id (with observation_id) or session_id")
        if self.observation_id is not None and self.trace_id is None:
            raise ValueError("a score on an observation needs its trace_id as well")
        kind = self.data_type or infer_data_type(self.value)
        if kind == "numeric" and (isinstance(self.value, str | bool)):
            raise ValueError(f"a numeric score needs a number, not {self.value!r}")
        if kind == "boolean" and not (isinstance(self.value, bool) or self.value in (0, 1)):
            raise ValueError(f"a boolean score needs true/false (or 1/0), not {self.value!r}")
        if kind == "categorical" and not isinstance(self.value, str):
            raise ValueError(f"a categorical score needs a string, not {self.value!r}")
        self.data_type = kind
        return self


def infer_data_type(value: bool | float | str) -> ScoreDataType:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "categorical"
    return "numeric"


class _Event(_Body, Storable):
    id: Id
    timestamp: datetime | None = None


class TraceCreate(_Event):
    type: Literal["trace-create"]
    body: TraceBody


class ObservationCreate(_Event):
    type: Literal["observation-create"]
    body: ObservationBody


class ObservationUpdate(_Event):
    type: Literal["observation-update"]
    body: ObservationUpdateBody


class ScoreCreate(_Event):
    type: Literal["score-create"]
    body: ScoreBody


IngestEvent = Annotated[
    TraceCreate | ObservationCreate | ObservationUpdate | ScoreCreate,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(IngestEvent)


class IngestBatch(BaseModel):
    """What `POST /api/v1/ingest` takes (documented here; validated event by event)."""

    batch: list[IngestEvent]
    metadata: dict[str, Any] = Field(default_factory=dict)


class EventOk(_Out):
    id: str
    status: int = 201


class EventError(_Out):
    id: str | None
    status: int = 400
    error: str = "invalid"
    message: str


class IngestResult(_Out):
    """Per-event outcome: one malformed event is rejected alone (HTTP 207 when any failed)."""

    successes: list[EventOk] = Field(default_factory=list)
    errors: list[EventError] = Field(default_factory=list)
    stored: int | None = Field(
        default=None, description="Version-2 bodies: how many records were stored (no list)."
    )


# -- query responses -------------------------------------------------------------------------


class UsageTotals(_Out):
    input: int = 0
    output: int = 0
    total: int = 0
    cached: int = 0
    reasoning: int = 0


class CostTotals(_Out):
    input: Usd | None = None
    output: Usd | None = None
    total: Usd | None = None


class TraceSummary(_Out):
    id: str
    name: str | None
    start_time: str | None
    end_time: str | None
    latency_ms: float | None
    user_id: str | None
    session_id: str | None
    tags: list[str]
    release: str | None
    environment: str | None
    metadata: Any = None
    input: Any = None
    output: Any = None
    observation_count: int = 0
    generation_count: int = 0
    error_count: int = 0  # failures: an error raised through its parent spans counts once
    usage: UsageTotals = Field(default_factory=UsageTotals)
    cost: Usd | None = None  # USD, summed over the trace's generations
    prompts: list[PromptRef] = Field(default_factory=list)  # distinct prompt versions used


class PageMeta(_Out):
    page: int
    limit: int
    total_items: int
    total_pages: int


class TraceList(_Out):
    data: list[TraceSummary]
    meta: PageMeta


class ObservationOut(_Out):
    id: str
    trace_id: str
    parent_id: str | None
    depth: int = 0  # 0 for a root; the list is in tree order (parent, then its children)
    type: str
    name: str | None
    start_time: str | None
    end_time: str | None
    completion_start_time: str | None
    latency_ms: float | None
    time_to_first_token_ms: float | None
    level: str
    status_message: str | None
    version: str | None
    input: Any = None
    output: Any = None
    metadata: Any = None
    model: str | None
    model_parameters: Any = None
    usage: UsageTotals | None
    cost: CostTotals | None
    cost_source: str | None  # "given" by the caller or "computed" from the price table
    prompt: PromptLink | None


class ObservationList(_Out):
    data: list[ObservationOut]  # newest first
    meta: PageMeta


class ScoreOut(_Out):
    id: str
    name: str
    value: float | None  # numeric and boolean (1/0) scores
    string_value: str | None  # categorical scores, and "true"/"false" for booleans
    data_type: str
    trace_id: str | None
    observation_id: str | None
    session_id: str | None
    source: str
    comment: str | None
    timestamp: str | None


class TraceDetail(TraceSummary):
    observations: list[ObservationOut] = Field(default_factory=list)
    scores: list[ScoreOut] = Field(default_factory=list)


class ScoreList(_Out):
    data: list[ScoreOut]
    meta: PageMeta


class SessionSummary(_Out):
    session_id: str
    trace_count: int
    first_trace_at: str | None
    last_trace_at: str | None
    user_ids: list[str]
    total_tokens: int
    cost: Usd | None


class SessionList(_Out):
    data: list[SessionSummary]
    meta: PageMeta


class SessionDetail(_Out):
    session_id: str
    traces: list[TraceSummary]  # oldest first
    scores: list[ScoreOut]


class MetricsRow(_Out):
    key: str | None  # the group's value: a model, user, tag, "name@version" or a day
    prompt_name: str | None = None  # with group_by=prompt_version
    prompt_version: int | None = None
    count: int  # generations (unit=generations) or traces (unit=traces)
    trace_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: Usd | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    avg_score: float | None  # mean of numeric/boolean scores (of `score_name` if given)
    score_count: int
    error_count: int


class Metrics(_Out):
    group_by: str
    unit: str
    start: str | None
    end: str | None
    score_name: str | None
    rows: list[MetricsRow]


class ModelPrice(_Out):
    id: int | None = None  # None for prices from the shipped table or a --prices file
    model: str
    match_pattern: str
    provider: str | None = None
    input_price: float  # USD per input token
    output_price: float  # USD per output token
    cached_input_price: float | None = None  # USD per cached input token
    effective_from: str  # ISO date
    source: str  # builtin | file | api


class ModelPriceCreate(Storable):
    model_config = ConfigDict(extra="forbid")

    model: Name
    match_pattern: str = Field(
        description="Python regex, matched case-insensitively against the whole model name"
    )
    provider: str | None = None
    input_price: Money
    output_price: Money
    cached_input_price: Money | None = None
    effective_from: str | None = Field(default=None, description="YYYY-MM-DD; default today")


class ModelPriceList(_Out):
    data: list[ModelPrice]
