"""The tracer's tables, on the store's shared `metadata` (migration 0002).

Rows are keyed by the ids the SDK makes (traces 32 hex digits, observations and scores 16),
so a retried batch upserts the same rows instead of adding new ones. Input, output,
metadata and model parameters are stored as JSON text exactly as received. Times are UTC;
`latency_ms` and `time_to_first_token_ms` are computed at ingest so queries need no
date arithmetic (which SQLite and PostgreSQL spell differently).

`trace_tags` repeats each trace's tags one per row, so that filtering and grouping by tag
is a join on an index rather than a scan through JSON.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from promptrail.store.tables import NAME, Timestamp, metadata

ID = String(64)
LABEL = String(63)

traces = Table(
    "traces",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", NAME),
    Column("user_id", NAME),
    Column("session_id", NAME),
    Column("release", NAME),
    Column("environment", NAME),
    Column("tags", JSON),
    Column("metadata", Text),
    Column("input", Text),
    Column("output", Text),
    Column("public", Boolean),
    Column("start_time", Timestamp),
    Column("end_time", Timestamp),
    Column("latency_ms", Float),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Index("ix_traces_start_time", "start_time"),
    Index("ix_traces_user_id_start_time", "user_id", "start_time"),
    Index("ix_traces_session_id_start_time", "session_id", "start_time"),
    Index("ix_traces_name_start_time", "name", "start_time"),
)

trace_tags = Table(
    "trace_tags",
    metadata,
    Column("trace_id", ID, primary_key=True),
    Column("tag", NAME, primary_key=True),
    Index("ix_trace_tags_tag_trace_id", "tag", "trace_id"),
)

observations = Table(
    "observations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("trace_id", ID, nullable=False),
    Column("parent_id", ID),
    Column("type", String(16)),  # null until the create arrives after an update
    Column("name", NAME),
    Column("start_time", Timestamp),
    Column("end_time", Timestamp),
    Column("completion_start_time", Timestamp),
    Column("latency_ms", Float),
    Column("time_to_first_token_ms", Float),
    Column("level", String(10)),  # null means DEFAULT
    Column("status_message", Text),
    Column("version", NAME),
    Column("input", Text),
    Column("output", Text),
    Column("metadata", Text),
    Column("model", NAME),
    Column("model_parameters", Text),
    Column("usage_input", BigInteger),
    Column("usage_output", BigInteger),
    Column("usage_total", BigInteger),
    Column("usage_cached", BigInteger),
    Column("usage_reasoning", BigInteger),
    Column("cost_input", Float),
    Column("cost_output", Float),
    Column("cost_total", Float),
    Column("cost_source", String(10)),  # given | computed
    Column("prompt_name", NAME),
    Column("prompt_version", Integer),
    Column("prompt_label", LABEL),
    Column("prompt_hash", String(64)),
    Column("prompt_resolved", Boolean),  # False: an OTLP span named a version not held
    Column("created_at", Timestamp, nullable=False),
    Index("ix_observations_trace_id_start_time", "trace_id", "start_time"),
    Index("ix_observations_type_start_time", "type", "start_time"),
    Index("ix_observations_prompt", "prompt_name", "prompt_version", "start_time"),
    # "traces that used prompt P (version V)" from the index alone (migration 0008)
    Index("ix_observations_prompt_trace_id", "prompt_name", "prompt_version", "trace_id"),
    Index("ix_observations_level_trace_id", "level", "trace_id"),  # "traces with an error"
)

scores = Table(
    "scores",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", NAME, nullable=False),
    Column("value", Float),  # numeric, or 1/0 for boolean
    Column("string_value", Text),  # categorical, or "true"/"false" for boolean
    Column("data_type", String(12), nullable=False),
    Column("trace_id", ID),
    Column("observation_id", ID),
    Column("session_id", NAME),
    Column("source", String(12), nullable=False),
    Column("comment", Text),
    Column("metadata", Text),
    Column("timestamp", Timestamp, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_scores_trace_id", "trace_id"),
    Index("ix_scores_observation_id", "observation_id"),
    Index("ix_scores_session_id", "session_id"),
    Index("ix_scores_name_timestamp", "name", "timestamp"),
)

model_prices = Table(
    "model_prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", NAME, nullable=False),
    Column("match_pattern", Text, nullable=False),
    Column("provider", String(50)),
    Column("input_price", Float, nullable=False),  # USD per token
    Column("output_price", Float, nullable=False),
    Column("cached_input_price", Float),
    Column("effective_from", String(10), nullable=False),  # YYYY-MM-DD
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("model", "effective_from"),
)

TRACING_TABLES = (traces, trace_tags, observations, scores, model_prices)
