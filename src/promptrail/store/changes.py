"""The registry as a publish finds it, the changes the publish makes, and writing them.

Runs inside the write transaction that `publish.apply` opens: `Current.load` reads the
rows of the prompts the request touches, `Current.diff` checks the preconditions
(raising StoreConflict listing every difference) and `Changes.write` applies the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, tuple_, update

from promptrail.api.registry import PublishRequest, PublishResult, VersionUpload
from promptrail.errors import InvalidRequest, StoreConflict, summarize
from promptrail.store.registry import chunks, now
from promptrail.store.tables import (
    label_history,
    labels,
    preview_labels,
    prompts,
    publishes,
    versions,
)

if TYPE_CHECKING:
    from promptrail.store.publish import Checked

Key = tuple[str, str]  # (name, label)
WHOLE_TABLES = 2000  # names in a publish above which Current.load scans whole tables
STALE_HINT = (
    "The registry changed since the plan was made (another publish?): nothing was "
    "applied; re-run `promptrail plan` (or publish again) to plan against what it holds now."
)


@dataclass
class Current:
    """What the registry holds now for the prompts a request touches."""

    versions: dict[tuple[str, int], str] = field(default_factory=dict)  # -> hash
    labels: dict[Key, int] = field(default_factory=dict)
    previews: dict[Key, tuple[int, str]] = field(default_factory=dict)  # -> (version, hash)
    prompts: dict[str, Any] = field(default_factory=dict)  # name -> row

    @classmethod
    def load(cls, conn: Connection, checked: Checked) -> Current:
        req = checked.request
        names = {u.name for u in req.versions} | {m.name for m in req.labels}
        names |= set(req.metadata) | set(req.expect_versions)
        found = cls()
        queries = [
            (versions, select(versions.c.name, versions.c.version, versions.c.hash)),
            (labels, select(labels.c.name, labels.c.label, labels.c.version)),
            (
                preview_labels,
                select(
                    preview_labels.c.name,
                    preview_labels.c.label,
                    preview_labels.c.version,
                    preview_labels.c.hash,
                ),
            ),
            (prompts, select(prompts.c.name, prompts.c.tags, prompts.c.description)),
        ]
        # A big publish reads whole tables (one query each, filtered here) rather than
        # thousands of names in IN (...) lists.
        parts: list[list[str] | None] = (
            [None] if len(names) > WHOLE_TABLES else list(chunks(sorted(names)))
        )
        for part in parts:
            for table, query in queries:
                if part is not None:
                    query = query.where(table.c.name.in_(part))
                for row in conn.execute(query):
                    if part is None and row.name not in names:
                        continue
                    found._add(table, row)
        return found

    def _add(self, table: Any, row: Any) -> None:
        if table is versions:
            self.versions[(row.name, row.version)] = row.hash
        elif table is labels:
            self.labels[(row.name, row.label)] = row.version
        elif table is preview_labels:
            self.previews[(row.name, row.label)] = (row.version, row.hash)
        else:
            self.prompts[row.name] = row

    def diff(self, checked: Checked) -> Changes:
        req = checked.request
        conflicts: list[dict[str, Any]] = []
        invalid: list[dict[str, Any]] = []
        changes = Changes(preview=checked.preview)
        if not checked.preview:
            for (name, version), up in checked.uploads.items():
                existing = self.versions.get((name, version))
                if existing is None:
                    changes.versions.append(up)
                elif existing != up.hash:
                    conflicts.append(_other_content(name, version, existing, up.hash))
        for name, pinned in req.expect_versions.items():
            for version, digest in pinned.items():
                existing = self.versions.get((name, version))
                if existing is None and (name, version) not in checked.uploads:
                    conflicts.append(
                        {
                            "kind": "missing_version",
                            "name": name,
                            "version": version,
                            "message": f"version {version} of {name!r} is not in the registry, "
                            "though the plan expected it there",
                        }
                    )
                elif existing is not None and existing != digest:
                    conflicts.append(_other_content(name, version, existing, digest))
        for move in req.labels:
            key = (move.name, move.label)
            if checked.preview:
                now_at = self.previews.get(key)
                current = now_at[0] if now_at else None
            else:
                current = self.labels.get(key)
            if current != move.expected and current != move.version:
                # (A label already where the publish puts it is fine: a retried request
                # whose first attempt committed succeeds as a no-op.)
                conflicts.append(
                    {
                        "kind": "stale_label",
                        "name": move.name,
                        "label": move.label,
                        "expected": move.expected,
                        "actual": current,
                        "message": f"label {move.label!r} of {move.name!r} is "
                        f"{_where(current)} now; the plan expected it {_where(move.expected)}",
                    }
                )
                continue
            if move.version is None:
                if current is not None:
                    removed = changes.preview_removals if checked.preview else changes.moves
                    removed.append((move.name, move.label, current, None))
                continue
            if checked.preview:
                self._preview_move(checked, move.name, move.label, move.version, changes, invalid)
                continue
            if (move.name, move.version) not in self.versions and (
                move.name,
                move.version,
            ) not in checked.uploads:
                invalid.append(
                    {
                        "name": move.name,
                        "label": move.label,
                        "version": move.version,
                        "message": f"label {move.label!r} of {move.name!r} would point to version "
                        f"{move.version}, which the registry lacks and this publish does not "
                        "upload",
                    }
                )
            elif current != move.version:
                changes.moves.append((move.name, move.label, current, move.version))
        if conflicts:
            stale = any(c["kind"] == "stale_label" for c in conflicts)
            message = summarize(
                "publish refused, nothing was changed", conflicts, STALE_HINT if stale else ""
            )
            raise StoreConflict(message, conflicts)
        if invalid:
            raise InvalidRequest(
                summarize("publish refused, nothing was changed", invalid), invalid
            )
        self._metadata(checked, changes)
        return changes

    def _preview_move(
        self,
        checked: Checked,
        name: str,
        label: str,
        version: int,
        changes: Changes,
        invalid: list[dict[str, Any]],
    ) -> None:
        upload = checked.uploads.get((name, version))
        digest = upload.hash if upload else self.versions.get((name, version))
        if digest is None:
            invalid.append(
                {
                    "name": name,
                    "label": label,
                    "version": version,
                    "message": f"preview label {label!r} of {name!r} points to version {version}, "
                    "which the registry lacks and this publish does not upload",
                }
            )
            return
        now_at = self.previews.get((name, label))
        if now_at != (version, digest):
            changes.previews.append(
                (name, label, now_at[0] if now_at else None, version, upload, digest)
            )

    def _metadata(self, checked: Checked, changes: Changes) -> None:
        new_names = {up.name for up in changes.versions}
        for name, fields in checked.request.metadata.items():
            row = self.prompts.get(name)
            if row is None and name not in new_names:
                raise InvalidRequest(
                    f"metadata for {name!r}, which has no version in the registry or this publish"
                )
            old = {"tags": list(row.tags or []), "description": row.description} if row else {}
            update_ = {k: v for k, v in fields.items() if row is None or old.get(k) != v}
            if update_:
                changes.metadata[name] = update_
        changes.new_prompts = sorted(new_names - set(self.prompts))


def _where(version: int | None) -> str:
    return "unset" if version is None else f"on version {version}"


def _other_content(name: str, version: int, existing: str, new: str) -> dict[str, Any]:
    return {
        "kind": "version_content",
        "name": name,
        "version": version,
        "registry_hash": existing,
        "hash": new,
        "message": f"version {version} of {name!r} already exists with other content "
        f"(registry {existing[:12]}, this publish {new[:12]}); versions are immutable: give "
        "the new content a higher version (`promptrail version`), commit and publish again",
    }


@dataclass
class Changes:
    preview: bool
    versions: list[VersionUpload] = field(default_factory=list)
    moves: list[tuple[str, str, int | None, int | None]] = field(default_factory=list)
    # (name, label, from, to, upload or None (copy the registry's version), hash)
    previews: list[tuple[str, str, int | None, int, VersionUpload | None, str]] = field(
        default_factory=list
    )
    preview_removals: list[tuple[str, str, int | None, int | None]] = field(default_factory=list)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_prompts: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.versions or self.moves or self.previews or self.preview_removals or self.metadata
        )

    def result(self) -> PublishResult:
        moved = [{"name": n, "label": lb, "from": a, "to": b} for n, lb, a, b in self.moves]
        moved += [
            {"name": n, "label": lb, "from": a, "to": b, "hash": h, "preview": True}
            for n, lb, a, b, _, h in self.previews
        ]
        moved += [
            {"name": n, "label": lb, "from": a, "to": None, "preview": True}
            for n, lb, a, _ in self.preview_removals
        ]
        return PublishResult(
            publish_id=None,
            created=[{"name": u.name, "version": u.version, "hash": u.hash} for u in self.versions],
            moved=moved,
            metadata=sorted(self.metadata),
        )

    def write(self, conn: Connection, request: PublishRequest, key_id: int | None) -> int:
        at = now()
        src = request.source
        publish_id = conn.execute(
            insert(publishes).returning(publishes.c.id),
            {
                "commit": src.commit,
                "ref": src.ref,
                "author": src.author,
                "message": src.message,
                "ci_run_url": src.ci_run_url,
                "repository_url": src.repository_url,
                "key_id": key_id,
                "preview": self.preview,
                "versions_created": len(self.versions),
                "labels_moved": len(self.moves) + len(self.previews) + len(self.preview_removals),
                "created_at": at,
            },
        ).scalar_one()
        self._write_prompts(conn, at)
        if self.versions:
            conn.execute(
                insert(versions),
                [
                    {
                        "name": u.name,
                        "version": u.version,
                        "type": u.type,
                        "prompt": u.prompt,
                        "messages": u.messages,
                        "config": u.config,
                        "hash": u.hash,
                        "commit": u.commit or src.commit,
                        "author": u.author or src.author,
                        "message": u.message or src.message,
                        "committed_at": u.committed_at,
                        "ci_run_url": src.ci_run_url,
                        "publish_id": publish_id,
                        "created_at": at,
                    }
                    for u in self.versions
                ],
            )
        self._write_labels(conn, at)
        self._write_previews(conn, request, publish_id, at)
        history = [(n, lb, a, b, False) for n, lb, a, b in self.moves]
        history += [(n, lb, a, b, True) for n, lb, a, b, _, _ in self.previews]
        history += [(n, lb, a, None, True) for n, lb, a, _ in self.preview_removals]
        if history:
            conn.execute(
                insert(label_history),
                [
                    {
                        "name": n,
                        "label": lb,
                        "from_version": a,
                        "to_version": b,
                        "publish_id": publish_id,
                        "commit": src.commit,
                        "preview": p,
                        "at": at,
                    }
                    for n, lb, a, b, p in history
                ],
            )
        return int(publish_id)

    def _write_prompts(self, conn: Connection, at: Any) -> None:
        paths = {u.name: u.path for u in self.versions}
        if self.new_prompts:
            conn.execute(
                insert(prompts),
                [
                    {
                        "name": name,
                        "tags": self.metadata.get(name, {}).get("tags", []),
                        "description": self.metadata.get(name, {}).get("description"),
                        "path": paths.get(name),
                        "created_at": at,
                        "updated_at": at,
                    }
                    for name in self.new_prompts
                ],
            )
        new = set(self.new_prompts)
        touched = {u.name for u in self.versions} | {m[0] for m in self.moves}
        touched |= set(self.metadata)
        for name in sorted(touched - new):
            values: dict[str, Any] = {"updated_at": at, **self.metadata.get(name, {})}
            if paths.get(name):
                values["path"] = paths[name]
            conn.execute(update(prompts).where(prompts.c.name == name).values(**values))

    def _write_labels(self, conn: Connection, at: Any) -> None:
        adds = [m for m in self.moves if m[2] is None and m[3] is not None]
        moves = [m for m in self.moves if m[2] is not None and m[3] is not None]
        removals = [m for m in self.moves if m[3] is None]
        if removals:
            conn.execute(
                delete(labels).where(
                    tuple_(labels.c.name, labels.c.label).in_([(n, lb) for n, lb, _, _ in removals])
                )
            )
        if moves:
            conn.execute(
                update(labels)
                .where(
                    and_(
                        labels.c.name == bindparam("b_name"), labels.c.label == bindparam("b_label")
                    )
                )
                .values(version=bindparam("b_version"), updated_at=at),
                [{"b_name": n, "b_label": lb, "b_version": b} for n, lb, _, b in moves],
            )
        if adds:
            conn.execute(
                insert(labels),
                [{"name": n, "label": lb, "version": b, "updated_at": at} for n, lb, _, b in adds],
            )

    def _write_previews(
        self, conn: Connection, request: PublishRequest, publish_id: int, at: Any
    ) -> None:
        src = request.source
        for name, label, _, version, upload, _ in self.previews:
            conn.execute(
                delete(preview_labels).where(
                    preview_labels.c.name == name, preview_labels.c.label == label
                )
            )
            if upload is not None:
                content = {
                    "type": upload.type,
                    "prompt": upload.prompt,
                    "messages": upload.messages,
                    "config": upload.config,
                    "hash": upload.hash,
                    "commit": upload.commit or src.commit,
                    "author": upload.author or src.author,
                    "message": upload.message or src.message,
                }
            else:
                row = conn.execute(
                    select(versions).where(versions.c.name == name, versions.c.version == version)
                ).one()
                content = {
                    "type": row.type,
                    "prompt": row.prompt,
                    "messages": row.messages,
                    "config": row.config,
                    "hash": row.hash,
                    "commit": row.commit,
                    "author": row.author,
                    "message": row.message,
                }
            conn.execute(
                insert(preview_labels).values(
                    name=name,
                    label=label,
                    version=version,
                    ci_run_url=src.ci_run_url,
                    publish_id=publish_id,
                    updated_at=at,
                    **content,
                )
            )
        for name, label, _, _ in self.preview_removals:
            conn.execute(
                delete(preview_labels).where(
                    preview_labels.c.name == name, preview_labels.c.label == label
                )
            )
