"""Queries the Langfuse-compatible API needs beyond the registry's own (`registry.py`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from promptrail.constants import LATEST
from promptrail.store.registry import iso
from promptrail.store.tables import labels as labels_t
from promptrail.store.tables import prompts as prompts_t
from promptrail.store.tables import versions as versions_t
from promptrail.store.tracing import observations as obs_t
from promptrail.store.tracing import scores as scores_t


def version_meta(conn: Connection, name: str, version: int) -> tuple[str | None, str | None]:
    """(commit message, when it was written: the git commit's date, else the publish's)."""
    row = conn.execute(
        select(versions_t.c.message, versions_t.c.committed_at, versions_t.c.created_at).where(
            versions_t.c.name == name, versions_t.c.version == version
        )
    ).first()
    if row is None:
        return None, None
    return row.message, row.committed_at or iso(row.created_at)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def prompt_metas(
    conn: Connection,
    *,
    name: str | None = None,
    label: str | None = None,
    tag: str | None = None,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
) -> list[dict[str, Any]]:
    """Langfuse's PromptMeta for every prompt matching the filters, by name.

    The filters pick versions (as Langfuse does): `label` keeps the versions carrying it,
    the dates the versions created in that window; a prompt with none left is omitted.
    """
    query = select(
        versions_t.c.name,
        versions_t.c.version,
        versions_t.c.type,
        versions_t.c.config,
        versions_t.c.created_at,
    ).order_by(versions_t.c.name, versions_t.c.version)
    if name is not None:
        query = query.where(versions_t.c.name == name)
    rows = conn.execute(query).all()
    on: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in conn.execute(select(labels_t.c.name, labels_t.c.label, labels_t.c.version)):
        on[row.name][row.version].append(row.label)
    tags = {row.name: row.tags for row in conn.execute(select(prompts_t.c.name, prompts_t.c.tags))}
    by_name: dict[str, list[Any]] = defaultdict(list)
    for version_row in rows:
        by_name[version_row.name].append(version_row)
    out = []
    for prompt, found in by_name.items():
        prompt_tags = list(tags.get(prompt) or [])
        if tag is not None and tag not in prompt_tags:
            continue
        highest = found[-1].version
        labelled = on[prompt]
        if not any(LATEST in names for names in labelled.values()):
            labelled[highest].append(LATEST)
        kept = [
            row
            for row in found
            if (label is None or label in labelled.get(row.version, []))
            and (updated_from is None or _utc(row.created_at) >= updated_from)  # type: ignore[operator]
            and (updated_to is None or _utc(row.created_at) < updated_to)  # type: ignore[operator]
        ]
        if not kept:
            continue
        last = kept[-1]
        out.append(
            {
                "name": prompt,
                "type": last.type,
                "versions": [row.version for row in kept],
                "labels": sorted({lb for row in kept for lb in labelled.get(row.version, [])}),
                "tags": prompt_tags,
                "lastUpdatedAt": iso(last.created_at),
                "lastConfig": last.config or {},
            }
        )
    return out


def child_ids(
    conn: Connection, trace_ids: list[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Observation ids and score ids of each trace (Langfuse lists them with a trace)."""
    observations: dict[str, list[str]] = defaultdict(list)
    scores: dict[str, list[str]] = defaultdict(list)
    if trace_ids:
        for row in conn.execute(
            select(obs_t.c.trace_id, obs_t.c.id).where(obs_t.c.trace_id.in_(trace_ids))
        ):
            observations[row.trace_id].append(row.id)
        for row in conn.execute(
            select(scores_t.c.trace_id, scores_t.c.id).where(scores_t.c.trace_id.in_(trace_ids))
        ):
            scores[row.trace_id].append(row.id)
    return observations, scores
