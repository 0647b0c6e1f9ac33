"""Datasets written and experiments recorded through the Langfuse-compatible API.

A dataset change (create, add an item) stores a new dataset version, as a publish from
git would, under a publish whose source says it came from that API; `promptrail plan
--check` then reports a dataset missing from git as living outside it.

A Langfuse experiment becomes a promptrail eval run (`eval_runs`, `eval_results`) beside
the runs of `promptrail eval`. SDK v5 says which traces belong to an experiment only
through span attributes (`langfuse.experiment.*`, kept by the OTLP ingest in the
observation's metadata); older SDKs post dataset run items. Either way the run is
rebuilt from its traces (output, scores, cost, latency) each time something of it
arrives, so it ends complete whatever the order of spans and scores.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from promptrail.api.eval import (
    DatasetItem,
    DatasetRef,
    DatasetUpload,
    DatasetVersion,
    GateResult,
    ItemResult,
    RunPrompt,
    RunResult,
)
from promptrail.errors import NotFound
from promptrail.eval.aggregate import means
from promptrail.repo.datasets import dataset_hash
from promptrail.store.evaluation import dataset_versions as dv
from promptrail.store.evaluation import eval_results, eval_runs
from promptrail.store.registry import iso, now
from promptrail.store.runs import create_run, get_dataset, plan_datasets, write_datasets
from promptrail.store.tables import publishes
from promptrail.store.trace_queries import loads
from promptrail.store.tracing import observations as obs_t
from promptrail.store.tracing import scores as scores_t
from promptrail.store.tracing import traces as traces_t

SOURCE_REF = "langfuse-api"
EXPERIMENT_ID = "langfuse.experiment.id"
EXPERIMENT_NAME = "langfuse.experiment.name"
EXPERIMENT_DATASET = "langfuse.experiment.dataset.id"
EXPERIMENT_ITEM = "langfuse.experiment.item.id"


def new_item_id() -> str:
    return uuid.uuid4().hex


def latest(conn: Connection, name: str) -> DatasetVersion | None:
    try:
        return get_dataset(conn, name)
    except NotFound:
        return None


def save_version(
    conn: Connection, name: str, description: str | None, items: list[DatasetItem]
) -> DatasetVersion:
    """Store `items` as the dataset's next version (nothing when that content is stored)."""
    upload = DatasetUpload(
        name=name, hash=dataset_hash(items), description=description, items=items
    )
    planned = plan_datasets(conn, [upload])
    if planned:
        at = now()
        publish_id = conn.execute(
            insert(publishes)
            .values(
                ref=SOURCE_REF,
                author=SOURCE_REF,
                message=f"dataset {name} changed through the Langfuse-compatible API",
                preview=False,
                versions_created=0,
                labels_moved=0,
                created_at=at,
            )
            .returning(publishes.c.id)
        ).scalar_one()
        write_datasets(conn, planned, publish_id, at)
    return get_dataset(conn, name, hash=upload.hash)


def find_item(conn: Connection, item_id: str) -> tuple[str, DatasetItem, str] | None:
    """(dataset name, item, version time) of the newest dataset version holding `item_id`."""
    names = conn.execute(select(dv.c.name).distinct()).scalars().all()
    for name in names:
        found = latest(conn, name)
        for item in found.items if found else []:
            if found and item.id == item_id:
                return name, item, found.created_at
    return None


# -- experiments as eval runs -------------------------------------------------------------------


def experiment_run_id(dataset: str, run_name: str) -> str:
    """The eval run id of a Langfuse dataset run (its name is unique per dataset)."""
    return "lf-" + uuid.uuid5(uuid.NAMESPACE_URL, f"langfuse-run:{dataset}/{run_name}").hex[:24]


def experiment_traces(
    conn: Connection, experiment_id: str
) -> tuple[str | None, str | None, dict[str, str]]:
    """(run name, dataset name, trace id -> dataset item id) from the OTLP span attributes."""
    needle = f'"{EXPERIMENT_ID}":"{experiment_id}"'
    rows = conn.execute(
        select(obs_t.c.trace_id, obs_t.c.metadata).where(obs_t.c.metadata.contains(needle))
    ).all()
    run_name = dataset = None
    items: dict[str, str] = {}
    for row in rows:
        attributes = (loads(row.metadata) or {}).get("attributes") or {}
        run_name = run_name or attributes.get(EXPERIMENT_NAME)
        dataset = dataset or attributes.get(EXPERIMENT_DATASET)
        item = attributes.get(EXPERIMENT_ITEM)
        if isinstance(item, str):
            items.setdefault(row.trace_id, item)
    return run_name, dataset, items


def experiments_in(conn: Connection, trace_ids: list[str]) -> set[str]:
    """The Langfuse experiment ids the observations of these traces belong to."""
    found: set[str] = set()
    if not trace_ids:
        return found
    needle = f'"{EXPERIMENT_ID}":'
    rows = conn.execute(
        select(obs_t.c.metadata).where(
            obs_t.c.trace_id.in_(trace_ids), obs_t.c.metadata.contains(needle)
        )
    ).scalars()
    for text in rows:
        value = ((loads(text) or {}).get("attributes") or {}).get(EXPERIMENT_ID)
        if isinstance(value, str):
            found.add(value)
    return found


def record_run(
    conn: Connection,
    run_id: str,
    run_name: str,
    dataset_name: str,
    traces: dict[str, str],
    description: str | None = None,
) -> RunResult | None:
    """Rebuild eval run `run_id` from its traces (trace id -> dataset item id)."""
    dataset = latest(conn, dataset_name)
    if dataset is None or not traces:
        return None
    by_id = {item.id: item for item in dataset.items}
    ids = list(traces)
    trace_rows = {r.id: r for r in conn.execute(select(traces_t).where(traces_t.c.id.in_(ids)))}
    scores: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in conn.execute(
        select(scores_t).where(scores_t.c.trace_id.in_(ids)).order_by(scores_t.c.timestamp)
    ):
        if row.data_type == "categorical":
            scores[row.trace_id][row.name] = row.string_value
        elif row.data_type == "boolean":
            scores[row.trace_id][row.name] = bool(row.value)
        else:
            scores[row.trace_id][row.name] = row.value
    costs = dict(
        conn.execute(
            select(obs_t.c.trace_id, func.sum(obs_t.c.cost_total))
            .where(obs_t.c.trace_id.in_(ids))
            .group_by(obs_t.c.trace_id)
        ).all()
    )
    prompt_row = conn.execute(
        select(obs_t.c.prompt_name, obs_t.c.prompt_version, obs_t.c.prompt_hash)
        .where(obs_t.c.trace_id.in_(ids), obs_t.c.prompt_name.is_not(None))
        .limit(1)
    ).first()
    prompt = (
        RunPrompt(
            name=prompt_row.prompt_name,
            version=prompt_row.prompt_version,
            hash=prompt_row.prompt_hash,
            source="langfuse-experiment",
        )
        if prompt_row
        else RunPrompt(name=run_name, source="langfuse-experiment")
    )
    results = []
    started = []
    for trace_id, item_id in sorted(traces.items(), key=lambda pair: pair[1]):
        trace = trace_rows.get(trace_id)
        item = by_id.get(item_id)
        if trace is not None and trace.start_time is not None:
            started.append(trace.start_time)
        results.append(
            ItemResult(
                id=item_id,
                output=loads(trace.output) if trace is not None else None,
                scores=scores.get(trace_id, {}),
                latency_ms=trace.latency_ms if trace is not None else None,
                cost=costs.get(trace_id),
                trace_id=trace_id,
                input=item.input if item else None,
                expected=item.expected if item else None,
            )
        )
    names = sorted({name for result in results for name in result.scores})
    run = RunResult(
        run_id=run_id,
        prompt=prompt,
        dataset=DatasetRef(name=dataset.name, hash=dataset.hash, version=dataset.version),
        items=results,
        aggregates=means(results, names),
        gate=GateResult(passed=True),
        name=run_name,
        created_at=iso(min(started)) if started else None,
        task="langfuse experiment" + (f": {description}" if description else ""),
    )
    conn.execute(delete(eval_results).where(eval_results.c.run_id == run_id))
    conn.execute(delete(eval_runs).where(eval_runs.c.id == run_id))
    create_run(conn, run, key_id=None)
    return run


def record_experiments(conn: Connection, trace_ids: list[str]) -> list[str]:
    """Rebuild the eval runs of every experiment these traces take part in."""
    done = []
    for experiment_id in sorted(experiments_in(conn, trace_ids)):
        run_name, dataset, traces = experiment_traces(conn, experiment_id)
        run_id = experiment_run_id(dataset or "", run_name or "")
        if run_name and dataset and record_run(conn, run_id, run_name, dataset, traces):
            done.append(experiment_id)
    return done


def run_items(conn: Connection, run_id: str) -> dict[str, str]:
    """trace id -> dataset item id of a stored run (to add one item to it)."""
    rows = conn.execute(
        select(eval_results.c.trace_id, eval_results.c.item_id).where(
            eval_results.c.run_id == run_id
        )
    ).all()
    return {row.trace_id: row.item_id for row in rows if row.trace_id}


def experiment_traces_of(events: list[Any]) -> list[str]:
    """The trace ids of ingest events that carry Langfuse experiment attributes."""
    found = []
    for event in events:
        metadata = getattr(event.body, "metadata", None)
        attributes = metadata.get("attributes") if isinstance(metadata, dict) else None
        if isinstance(attributes, dict) and EXPERIMENT_ID in attributes:
            found.append(event.body.trace_id)
    return sorted(set(found))


def record_for_traces(store: Any, trace_ids: list[str]) -> None:
    """Rebuild the experiment runs these traces belong to (after spans or scores arrive)."""
    if trace_ids:
        with store.write(bump=False) as conn:
            record_experiments(conn, trace_ids)
