"""Read queries over prompts, versions and labels; each takes an open connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from promptrail.api.registry import (
    LabelEvent,
    LabelHistory,
    PreviewState,
    PromptList,
    PromptState,
    PromptSummary,
    RegistryState,
    VersionInfo,
    VersionList,
)
from promptrail.constants import LATEST, PREVIEW_PREFIX, PRODUCTION
from promptrail.errors import NotFound
from promptrail.store.evaluation import dataset_versions as datasets_t
from promptrail.store.tables import REVISION_KEY, registry_meta
from promptrail.store.tables import label_history as history_t
from promptrail.store.tables import labels as labels_t
from promptrail.store.tables import preview_labels as previews_t
from promptrail.store.tables import prompts as prompts_t
from promptrail.store.tables import publishes as publishes_t
from promptrail.store.tables import versions as versions_t

CHUNK = 500  # names per IN (...) clause


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z; SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def chunks(names: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(names), CHUNK):
        yield names[start : start + CHUNK]


def revision(conn: Connection) -> int:
    value = conn.execute(
        select(registry_meta.c.value).where(registry_meta.c.key == REVISION_KEY)
    ).scalar()
    return int(value or 0)


def bump_revision(conn: Connection) -> None:
    conn.execute(
        update(registry_meta)
        .where(registry_meta.c.key == REVISION_KEY)
        .values(value=registry_meta.c.value + 1)
    )


# -- one published version -----------------------------------------------------------------


def body_of(name: str, row: Any, labels: list[str], tags: list[str]) -> dict[str, Any]:
    """The served shape: {name, version, type, prompt | messages, config, labels, ...}."""
    body: dict[str, Any] = {"name": name, "version": row.version, "type": row.type}
    if row.type == "chat":
        body["messages"] = row.messages or []
    else:
        body["prompt"] = row.prompt or ""
    body.update(config=row.config or {}, labels=labels, tags=tags, hash=row.hash)
    return body


def get(
    conn: Connection, name: str, *, label: str | None = None, version: int | None = None
) -> dict[str, Any]:
    if version is None:
        label = label or PRODUCTION
        version = conn.execute(
            select(labels_t.c.version).where(labels_t.c.name == name, labels_t.c.label == label)
        ).scalar()
        if version is None:
            preview = conn.execute(
                select(previews_t).where(previews_t.c.name == name, previews_t.c.label == label)
            ).first()
            if preview is not None:
                return body_of(name, preview, [label], _tags(conn, name))
            if label == LATEST:
                version = _highest(conn, name)
            if version is None:
                raise NotFound(_missing_label(conn, name, label))
    row = conn.execute(
        select(versions_t).where(versions_t.c.name == name, versions_t.c.version == version)
    ).first()
    if row is None:
        raise NotFound(_missing_version(conn, name, version))
    return body_of(name, row, _labels_on(conn, name, version), _tags(conn, name))


def _tags(conn: Connection, name: str) -> list[str]:
    tags = conn.execute(select(prompts_t.c.tags).where(prompts_t.c.name == name)).scalar()
    return list(tags or [])


def _highest(conn: Connection, name: str) -> int | None:
    return conn.execute(
        select(func.max(versions_t.c.version)).where(versions_t.c.name == name)
    ).scalar()


def _labels_on(conn: Connection, name: str, version: int) -> list[str]:
    rows = conn.execute(select(labels_t.c.label, labels_t.c.version).where(labels_t.c.name == name))
    stored = dict(rows.all())  # (label, version) rows; Row.tuples() is deprecated in 2.1
    names = [label for label, v in stored.items() if v == version]
    if LATEST not in stored and _highest(conn, name) == version:
        names.append(LATEST)
    return sorted(names)


def _known_labels(conn: Connection, name: str) -> list[str]:
    stored = conn.execute(select(labels_t.c.label).where(labels_t.c.name == name)).scalars()
    previews = conn.execute(select(previews_t.c.label).where(previews_t.c.name == name)).scalars()
    return sorted({*stored, *previews, LATEST})


def _prompt_exists(conn: Connection, name: str) -> bool:
    found = conn.execute(select(prompts_t.c.name).where(prompts_t.c.name == name)).first()
    if found is None:
        found = conn.execute(select(previews_t.c.name).where(previews_t.c.name == name)).first()
    return found is not None


def _missing_label(conn: Connection, name: str, label: str) -> str:
    if not _prompt_exists(conn, name):
        return f"no prompt named {name!r} in the registry (was it published?)"
    known = ", ".join(_known_labels(conn, name))
    return f"prompt {name!r} has no label {label!r} (its labels: {known})"


def _missing_version(conn: Connection, name: str, version: int) -> str:
    if not _prompt_exists(conn, name):
        return f"no prompt named {name!r} in the registry (was it published?)"
    highest = _highest(conn, name)
    return f"prompt {name!r} has no version {version} (its versions go up to {highest})"


# -- listings ------------------------------------------------------------------------------


def list_prompts(conn: Connection) -> PromptList:
    labels: dict[str, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(select(labels_t.c.name, labels_t.c.label, labels_t.c.version)):
        labels[row.name][row.label] = row.version
    for row in conn.execute(select(previews_t.c.name, previews_t.c.label, previews_t.c.version)):
        labels[row.name][row.label] = row.version
    highest = dict(
        conn.execute(
            select(versions_t.c.name, func.max(versions_t.c.version)).group_by(versions_t.c.name)
        ).all()
    )
    summaries = [
        PromptSummary(
            name=row.name,
            labels=dict(sorted(labels.get(row.name, {}).items())),
            latest_version=highest.get(row.name),
            tags=list(row.tags or []),
            description=row.description,
            path=row.path,
            updated_at=iso(row.updated_at) or "",
        )
        for row in conn.execute(select(prompts_t).order_by(prompts_t.c.name))
    ]
    return PromptList(prompts=summaries)


def versions(conn: Connection, name: str) -> VersionList:
    if not _prompt_exists(conn, name):
        raise NotFound(f"no prompt named {name!r} in the registry (was it published?)")
    on: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(
        select(labels_t.c.label, labels_t.c.version).where(labels_t.c.name == name)
    ):
        on[row.version].append(row.label)
    rows = conn.execute(
        select(versions_t).where(versions_t.c.name == name).order_by(versions_t.c.version.desc())
    ).all()
    if rows and not any(LATEST in found for found in on.values()):
        on[rows[0].version].append(LATEST)
    return VersionList(
        name=name,
        versions=[
            VersionInfo(
                version=row.version,
                hash=row.hash,
                type=row.type,
                labels=sorted(on.get(row.version, [])),
                commit=row.commit,
                author=row.author,
                message=row.message,
                committed_at=row.committed_at,
                ci_run_url=row.ci_run_url,
                publish_id=row.publish_id,
                created_at=iso(row.created_at) or "",
            )
            for row in rows
        ],
    )


def label_history(conn: Connection, name: str, label: str | None = None) -> LabelHistory:
    query = (
        select(history_t, publishes_t.c.author, publishes_t.c.ci_run_url)
        .outerjoin(publishes_t, publishes_t.c.id == history_t.c.publish_id)
        .where(history_t.c.name == name)
        .order_by(history_t.c.id.desc())
    )
    if label is not None:
        query = query.where(history_t.c.label == label)
    rows = conn.execute(query).all()
    if not rows and not _prompt_exists(conn, name):
        raise NotFound(f"no prompt named {name!r} in the registry (was it published?)")
    return LabelHistory(name=name, events=[_event(row) for row in rows])


def _event(row: Row[Any]) -> LabelEvent:
    return LabelEvent(
        label=row.label,
        from_version=row.from_version,
        to_version=row.to_version,
        at=iso(row.at) or "",
        publish_id=row.publish_id,
        commit=row.commit,
        author=row.author,
        ci_run_url=row.ci_run_url,
    )


# -- the state a plan needs ----------------------------------------------------------------


def state(
    conn: Connection,
    names: Iterable[str] | None = None,
    *,
    protected_labels: list[str] | None = None,
    preview_prefix: str = PREVIEW_PREFIX,
) -> RegistryState:
    prompts: dict[str, PromptState] = {}

    def entry(name: str) -> PromptState:
        found = prompts.get(name)
        if found is None:
            found = prompts[name] = PromptState()
        return found

    for where in _name_filters(names):
        for row in conn.execute(
            _filtered(
                select(prompts_t.c.name, prompts_t.c.tags, prompts_t.c.description),
                prompts_t.c.name,
                where,
            )
        ):
            found = entry(row.name)
            found.tags = list(row.tags or [])
            found.description = row.description
        for row in conn.execute(
            _filtered(
                select(versions_t.c.name, versions_t.c.version, versions_t.c.hash),
                versions_t.c.name,
                where,
            )
        ):
            entry(row.name).versions[row.version] = row.hash
        for row in conn.execute(
            _filtered(
                select(labels_t.c.name, labels_t.c.label, labels_t.c.version),
                labels_t.c.name,
                where,
            )
        ):
            entry(row.name).labels[row.label] = row.version
        for row in conn.execute(
            _filtered(
                select(
                    previews_t.c.name, previews_t.c.label, previews_t.c.version, previews_t.c.hash
                ),
                previews_t.c.name,
                where,
            )
        ):
            found = entry(row.name)
            found.labels[row.label] = row.version
            found.previews[row.label] = PreviewState(version=row.version, hash=row.hash)
    datasets: dict[str, list[str]] = {}
    for row in conn.execute(
        select(datasets_t.c.name, datasets_t.c.hash).order_by(
            datasets_t.c.name, datasets_t.c.version
        )
    ):
        datasets.setdefault(row.name, []).append(row.hash)
    return RegistryState(
        prompts=dict(sorted(prompts.items())),
        protected_labels=list(protected_labels if protected_labels is not None else [PRODUCTION]),
        preview_prefix=preview_prefix,
        datasets=datasets,
    )


def _name_filters(names: Iterable[str] | None) -> Iterator[list[str] | None]:
    if names is None:
        yield None
        return
    yield from chunks(sorted(set(names)))


def _filtered(query: Any, column: Any, names: list[str] | None) -> Any:
    return query if names is None else query.where(column.in_(names))
