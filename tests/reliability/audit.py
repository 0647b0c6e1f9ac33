"""Auditing a registry after races and crashes: what the database holds and what each
server serves agree, and every version's content re-hashes to the hash it was stored with.

`audit_database` reads the tables directly (the truth a restart starts from);
`audit_served` asks the servers for the same things over HTTP (what a user sees). Both
return a list of problems, empty when the registry is sound, so a test can print them.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select

from promptrail.api.client import RegistryClient
from promptrail.content import content_hash, content_of
from promptrail.store import Store
from promptrail.store.tables import labels, preview_labels, versions


@dataclass
class Stored:
    """The registry as its database holds it."""

    hashes: dict[tuple[str, int], str] = field(default_factory=dict)  # (name, version) -> hash
    labels: dict[tuple[str, str], int] = field(default_factory=dict)  # (name, label) -> version
    problems: list[str] = field(default_factory=list)

    def versions_of(self, name: str) -> list[int]:
        return sorted(v for n, v in self.hashes if n == name)


def audit_database(db_url: str) -> Stored:
    """Every version row re-hashes to its hash, no (name, version) twice, every label (and
    preview label) points at a version that exists."""
    stored = Stored()
    store = Store.open(db_url)
    try:
        with store.read() as conn:
            rows = conn.execute(
                select(
                    versions.c.name,
                    versions.c.version,
                    versions.c.type,
                    versions.c.prompt,
                    versions.c.messages,
                    versions.c.config,
                    versions.c.hash,
                )
            ).all()
            label_rows = conn.execute(select(labels.c.name, labels.c.label, labels.c.version)).all()
            preview_rows = conn.execute(select(preview_labels)).all()
    finally:
        store.close()
    for (name, version), count in Counter((r.name, r.version) for r in rows).items():
        if count > 1:
            stored.problems.append(f"{name} version {version} is stored {count} times")
    for row in rows:
        digest = content_hash(content_of(row.type, row.prompt, row.messages, row.config))
        if digest != row.hash:
            stored.problems.append(
                f"{row.name} version {row.version}: stored content hashes to {digest[:12]}, "
                f"recorded {row.hash[:12]}"
            )
        stored.hashes[(row.name, row.version)] = row.hash
    for row in label_rows:
        stored.labels[(row.name, row.label)] = row.version
        if (row.name, row.version) not in stored.hashes:
            stored.problems.append(
                f"label {row.label} of {row.name} points at version {row.version}, "
                "which is not stored (dangling)"
            )
    for row in preview_rows:
        digest = content_hash(content_of(row.type, row.prompt, row.messages, row.config))
        if digest != row.hash:
            stored.problems.append(f"preview {row.label} of {row.name}: content is not its hash")
    return stored


def audit_served(urls: list[str], stored: Stored, *, settle: float = 3.0) -> list[str]:
    """Each server serves what the database holds: the same versions, hashes and labels
    (waiting up to `settle` seconds for a server's cache to see the last publish), and
    every version's served content re-hashes to the stored hash."""
    problems: list[str] = []
    for url in urls:
        with RegistryClient(url) as client:
            deadline = time.monotonic() + settle
            while True:
                served = _served_state(client)
                wrong = _state_differences(served, stored)
                if not wrong or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            problems += [f"{url}: {p}" for p in wrong]

            def fetch(
                key: tuple[str, int], client: RegistryClient = client, url: str = url
            ) -> str | None:
                name, version = key
                got = client.get(name, version=version)
                digest = content_hash(got.content())
                if (got.name, got.version) != key:
                    return f"{url}: asked for {name} v{version}, got {got.name} v{got.version}"
                if digest != got.hash or got.hash != stored.hashes[key]:
                    return (
                        f"{url}: {name} v{version} serves content hashing to {digest[:12]} "
                        f"under hash {got.hash[:12]}; stored {stored.hashes[key][:12]}"
                    )
                return None

            with ThreadPoolExecutor(4) as pool:
                problems += [p for p in pool.map(fetch, sorted(stored.hashes)) if p]
    return problems


def _served_state(client: RegistryClient) -> Stored:
    served = Stored()
    for name, prompt in client.state().prompts.items():
        for version, digest in prompt.versions.items():
            served.hashes[(name, version)] = digest
        for label, version in prompt.labels.items():
            if label not in prompt.previews:
                served.labels[(name, label)] = version
    return served


def _state_differences(served: Stored, stored: Stored) -> list[str]:
    wrong = []
    for key in sorted(set(served.hashes) | set(stored.hashes)):
        if served.hashes.get(key) != stored.hashes.get(key):
            wrong.append(
                f"{key[0]} v{key[1]}: served {served.hashes.get(key)}, stored "
                f"{stored.hashes.get(key)}"
            )
    for key in sorted(set(served.labels) | set(stored.labels)):
        if served.labels.get(key) != stored.labels.get(key):
            wrong.append(
                f"label {key[1]} of {key[0]}: served {served.labels.get(key)}, "
                f"stored {stored.labels.get(key)}"
            )
    return wrong
