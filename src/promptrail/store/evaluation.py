"""Evaluation's tables, on the store's shared `metadata` (migration 0004).

`dataset_versions` keeps every dataset content a publish ever sent, numbered 1, 2, ...
per dataset in the order the registry first saw each hash; rows are never updated.

`eval_runs` is one row per run with what listings filter and show (prompt version,
dataset version, commit, aggregates, gate) plus `body`, the whole `RunResult` without its
items; `eval_results` holds one row per item result (per sample) in run order, `result`
being the `ItemResult` exactly as sent. Reading both back rebuilds the run unchanged.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from promptrail.store.tables import HASH, NAME, Timestamp, metadata

RUN_ID = String(64)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False),
    Column("version", Integer, nullable=False),
    Column("hash", HASH, nullable=False),
    Column("description", Text),
    Column("item_count", Integer, nullable=False),
    Column("items", JSON, nullable=False),
    Column("path", Text),
    Column("commit", String(64)),
    Column("publish_id", Integer, ForeignKey("publishes.id")),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("name", "version"),
    UniqueConstraint("name", "hash", name="uq_dataset_versions_name_hash"),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", RUN_ID, primary_key=True),
    Column("name", Text),
    Column("prompt_name", NAME, nullable=False),
    Column("prompt_version", Integer),
    Column("prompt_hash", HASH),
    Column("dataset_name", NAME, nullable=False),
    Column("dataset_hash", HASH, nullable=False),
    Column("dataset_version", Integer),
    Column("commit", String(64)),
    Column("model", String(200)),
    Column("gate_passed", Boolean, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Column("aggregates", JSON, nullable=False),
    Column("body", JSON, nullable=False),
    Column("key_id", Integer),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_eval_runs_prompt_name_created_at", "prompt_name", "created_at"),
    Index("ix_eval_runs_dataset_name_created_at", "dataset_name", "created_at"),
)

eval_results = Table(
    "eval_results",
    metadata,
    Column("run_id", RUN_ID, ForeignKey("eval_runs.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("item_id", String(200), nullable=False),
    Column("sample", Integer, nullable=False),
    Column("error", Text),
    Column("latency_ms", Float),
    Column("cost", Float),
    Column("trace_id", String(64)),
    Column("result", JSON, nullable=False),
    Index("ix_eval_results_trace_id", "trace_id"),
)

EVAL_TABLES = (dataset_versions, eval_runs, eval_results)
