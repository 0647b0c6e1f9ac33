"""Queries of evaluation: dataset versions (written by a publish) and runs (by their API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from promptrail.api.eval import (
    DatasetInfo,
    DatasetList,
    DatasetRef,
    DatasetUpload,
    DatasetVersion,
    DatasetVersionList,
    ItemComparison,
    ItemResult,
    RunComparison,
    RunCreated,
    RunList,
    RunPrompt,
    RunResult,
    RunSummary,
    ScoreDelta,
)
from promptrail.errors import InvalidRequest, NotFound, StoreConflict
from promptrail.eval.evaluators.bounds import as_number
from promptrail.repo.datasets import dataset_hash
from promptrail.repo.spec import is_valid_name
from promptrail.store.evaluation import dataset_versions as dv
from promptrail.store.evaluation import eval_results as results_t
from promptrail.store.evaluation import eval_runs as runs_t
from promptrail.store.registry import now

MAX_LIST = 500

# -- datasets --------------------------------------------------------------------------------


def check_dataset(upload: DatasetUpload) -> list[dict[str, Any]]:
    """What is wrong with an upload on its own: name, ids, and a hash matching the items."""
    problems: list[dict[str, Any]] = []
    where = {"dataset": upload.name}
    if not is_valid_name(upload.name):
        problems.append({"message": f"invalid dataset name {upload.name!r}", **where})
    ids = [item.id for item in upload.items]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        problems.append({"message": f"dataset {upload.name!r}: ids used twice: {twice}", **where})
    digest = dataset_hash(upload.items)
    if digest != upload.hash:
        problems.append(
            {
                "message": f"dataset {upload.name!r}: the hash sent ({upload.hash[:12]}) is not "
                f"the hash of its items ({digest[:12]})",
                **where,
            }
        )
    return problems


def dataset_hashes(conn: Connection) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in conn.execute(select(dv.c.name, dv.c.hash).order_by(dv.c.name, dv.c.version)):
        found.setdefault(row.name, []).append(row.hash)
    return found


def plan_datasets(
    conn: Connection, uploads: list[DatasetUpload]
) -> list[tuple[DatasetUpload, int]]:
    """The uploads whose content is new, each with the version number it will get."""
    known = dataset_hashes(conn)
    planned: list[tuple[DatasetUpload, int]] = []
    for upload in uploads:
        hashes = known.setdefault(upload.name, [])
        if upload.hash in hashes:
            continue
        hashes.append(upload.hash)
        planned.append((upload, len(hashes)))
    return planned


def write_datasets(
    conn: Connection,
    planned: list[tuple[DatasetUpload, int]],
    publish_id: int,
    at: datetime,
    commit: str | None = None,
) -> None:
    """Insert the planned versions; `commit` (the publish's) when an upload names none."""
    if not planned:
        return
    conn.execute(
        insert(dv),
        [
            {
                "name": upload.name,
                "version": version,
                "hash": upload.hash,
                "description": upload.description,
                "item_count": len(upload.items),
                "items": [item.model_dump(mode="json") for item in upload.items],
                "path": upload.path,
                "commit": upload.commit or commit,
                "publish_id": publish_id,
                "created_at": at,
            }
            for upload, version in planned
        ],
    )


def _version_of(row: Any, with_items: bool) -> DatasetVersion:
    return DatasetVersion(
        name=row.name,
        version=row.version,
        hash=row.hash,
        description=row.description,
        item_count=row.item_count,
        items=row.items if with_items else [],
        path=row.path,
        commit=row.commit,
        publish_id=row.publish_id,
        created_at=_iso(row.created_at),
    )


def list_datasets(conn: Connection) -> DatasetList:
    latest: dict[str, Any] = {}
    columns = [c for c in dv.c if c.name != "items"]
    for row in conn.execute(select(*columns).order_by(dv.c.name, dv.c.version)):
        latest[row.name] = row
    counts: dict[str, int] = dict(
        conn.execute(
            select(runs_t.c.dataset_name, func.count()).group_by(runs_t.c.dataset_name)
        ).all()
    )
    return DatasetList(
        datasets=[
            DatasetInfo(
                name=name,
                latest_version=row.version,
                latest_hash=row.hash,
                description=row.description,
                item_count=row.item_count,
                run_count=int(counts.get(name, 0)),
                updated_at=_iso(row.created_at),
            )
            for name, row in sorted(latest.items())
        ]
    )


def dataset_history(conn: Connection, name: str) -> DatasetVersionList:
    columns = [c for c in dv.c if c.name != "items"]
    rows = conn.execute(select(*columns).where(dv.c.name == name).order_by(dv.c.version.desc()))
    versions = [_version_of(row, False) for row in rows]
    if not versions:
        raise NotFound(f"no dataset named {name!r} in the registry (publish datasets/{name}.yaml)")
    return DatasetVersionList(name=name, versions=versions)


def get_dataset(
    conn: Connection, name: str, *, version: int | None = None, hash: str | None = None
) -> DatasetVersion:
    query = select(dv).where(dv.c.name == name)
    if version is not None:
        query = query.where(dv.c.version == version)
    if hash is not None:
        query = query.where(dv.c.hash == hash)
    row = conn.execute(query.order_by(dv.c.version.desc()).limit(1)).first()
    if row is None:
        what = f" version {version}" if version is not None else ""
        what += f" with hash {hash[:12]}" if hash else ""
        raise NotFound(f"no dataset {name!r}{what} in the registry")
    return _version_of(row, True)


# -- runs ------------------------------------------------------------------------------------


def create_run(conn: Connection, run: RunResult, key_id: int | None) -> RunCreated:
    body = run.model_dump(mode="json", exclude={"items"})
    existing = conn.execute(select(runs_t.c.body).where(runs_t.c.id == run.run_id)).first()
    if existing is not None:
        if existing.body == body:
            return RunCreated(run_id=run.run_id)  # a retried request: already stored
        raise StoreConflict(f"run {run.run_id!r} is already stored with other content")
    if not is_valid_name(run.dataset.name):
        raise InvalidRequest(f"invalid dataset name {run.dataset.name!r}")
    version = conn.execute(
        select(dv.c.version).where(dv.c.name == run.dataset.name, dv.c.hash == run.dataset.hash)
    ).scalar()
    conn.execute(
        insert(runs_t),
        {
            "id": run.run_id,
            "name": run.name,
            "prompt_name": run.prompt.name,
            "prompt_version": run.prompt.version,
            "prompt_hash": run.prompt.hash,
            "dataset_name": run.dataset.name,
            "dataset_hash": run.dataset.hash,
            "dataset_version": version if version is not None else run.dataset.version,
            "commit": run.commit,
            "model": run.model,
            "gate_passed": run.gate.passed,
            "item_count": len(run.items),
            "error_count": sum(1 for item in run.items if item.error is not None),
            "aggregates": run.aggregates,
            "body": body,
            "key_id": key_id,
            "created_at": now(),
        },
    )
    if run.items:
        conn.execute(
            insert(results_t),
            [
                {
                    "run_id": run.run_id,
                    "position": position,
                    "item_id": item.id,
                    "sample": item.sample,
                    "error": item.error,
                    "latency_ms": item.latency_ms,
                    "cost": item.cost,
                    "trace_id": item.trace_id,
                    "result": item.model_dump(mode="json"),
                }
                for position, item in enumerate(run.items)
            ],
        )
    return RunCreated(run_id=run.run_id, url=f"/runs/{run.run_id}")


def get_run(conn: Connection, run_id: str) -> RunResult:
    row = conn.execute(select(runs_t.c.body).where(runs_t.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id!r} in the registry")
    items = conn.execute(
        select(results_t.c.result)
        .where(results_t.c.run_id == run_id)
        .order_by(results_t.c.position)
    )
    return RunResult.model_validate({**row.body, "items": [r.result for r in items]})


def _summary(row: Any) -> RunSummary:
    body = row.body
    return RunSummary(
        run_id=row.id,
        name=row.name,
        prompt=RunPrompt.model_validate(body["prompt"]),
        dataset=DatasetRef.model_validate({**body["dataset"], "version": row.dataset_version}),
        aggregates=row.aggregates,
        gate_passed=row.gate_passed,
        item_count=row.item_count,
        error_count=row.error_count,
        commit=row.commit,
        model=row.model,
        created_at=_iso(row.created_at),
    )


def list_runs(
    conn: Connection,
    *,
    prompt: str | None = None,
    version: int | None = None,
    dataset: str | None = None,
    limit: int = 50,
    prompt_hash: str | None = None,
    dataset_hash: str | None = None,
) -> RunList:
    query = select(runs_t)
    # By content: `eval --base` looks for a stored run of exactly this prompt and data.
    if prompt_hash is not None:
        query = query.where(runs_t.c.prompt_hash == prompt_hash)
    if dataset_hash is not None:
        query = query.where(runs_t.c.dataset_hash == dataset_hash)
    if prompt is not None:
        query = query.where(runs_t.c.prompt_name == prompt)
    if version is not None:
        query = query.where(runs_t.c.prompt_version == version)
    if dataset is not None:
        query = query.where(runs_t.c.dataset_name == dataset)
    query = query.order_by(runs_t.c.created_at.desc(), runs_t.c.id.desc())
    rows = conn.execute(query.limit(max(1, min(limit, MAX_LIST))))
    return RunList(runs=[_summary(row) for row in rows])


def summary_of(conn: Connection, run_id: str) -> RunSummary:
    row = conn.execute(select(runs_t).where(runs_t.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id!r} in the registry")
    return _summary(row)


def compare_runs(conn: Connection, base_id: str, head_id: str) -> RunComparison:
    base, head = get_run(conn, base_id), get_run(conn, head_id)
    names = list(dict.fromkeys([*base.aggregates, *head.aggregates]))
    aggregates = {
        name: _delta(base.aggregates.get(name), head.aggregates.get(name)) for name in names
    }
    base_items = {(item.id, item.sample): item for item in base.items}
    head_items = {(item.id, item.sample): item for item in head.items}
    keys = list(dict.fromkeys([*base_items, *head_items]))
    items = [_compare_item(key, base_items.get(key), head_items.get(key)) for key in keys]
    order = {key: index for index, key in enumerate(keys)}
    items.sort(key=lambda c: (not c.verdict_changed, not c.changed, order[(c.id, c.sample)]))
    return RunComparison(
        base=summary_of(conn, base_id),
        head=summary_of(conn, head_id),
        aggregates=aggregates,
        items=items,
    )


def _compare_item(
    key: tuple[str, int], base: ItemResult | None, head: ItemResult | None
) -> ItemComparison:
    base_scores = base.scores if base else {}
    head_scores = head.scores if head else {}
    names = list(dict.fromkeys([*base_scores, *head_scores]))
    scores = {name: _delta(base_scores.get(name), head_scores.get(name)) for name in names}
    flipped = any(
        isinstance(base_scores.get(n), bool)
        and isinstance(head_scores.get(n), bool)
        and base_scores[n] != head_scores[n]
        for n in names
    )
    changed = (
        base is None
        or head is None
        or base.output != head.output
        or base.error != head.error
        or base_scores != head_scores
    )
    return ItemComparison(
        id=key[0],
        sample=key[1],
        base=base,
        head=head,
        scores=scores,
        changed=changed,
        verdict_changed=flipped
        or (base is not None and head is not None and (base.error is None) != (head.error is None)),
    )


def _delta(base: Any, head: Any) -> ScoreDelta:
    low, high = as_number(base), as_number(head)
    diff = None if low is None or high is None else high - low
    return ScoreDelta(base=base, head=head, diff=diff)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
