"""A server killed with SIGKILL in the middle of a large publish, round after round, on one
database: a publish is all or nothing, no label dangles, every acknowledged publish stays.

Each round starts `promptrail serve` on the database the last round's crash left, checks
it, sends large publishes one after another and kills the process at a random moment
inside the next one (timed from how long the acknowledged ones took). Each publish adds
BATCH prompts, a version of `crash/shared` that production moves to, and a label
`run-N` on `crash/head`: a publish half applied would show as some prompts without the
others, or a label without its version. `--full` runs 30 rounds, quick 3; `-s` shows the
figures.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kit import request, text_version
from promptrail.api.client import RegistryClient
from promptrail.api.registry import PublishRequest
from promptrail.errors import RegistryUnavailable
from reliability.audit import Stored, audit_database, audit_served
from reliability.conftest import size
from serverproc import ServerProcess

pytestmark = pytest.mark.slow

BATCH = 200  # new prompts in each publish (~400 KB of JSON)
ACKNOWLEDGED_FIRST = 2  # publishes acknowledged each round before the one that is killed
TEXT = "Answer the customer about {{topic}} in the voice of our brand guide. " * 30  # ~2 KB


def names_of(index: int, batch: int) -> list[str]:
    return [f"crash{index:04d}/p{j:03d}" for j in range(batch)]


def large_publish(client: RegistryClient, index: int, batch: int) -> PublishRequest:
    """BATCH new prompts, the next version of crash/shared with production on it, and the
    label run-INDEX on crash/head: planned against the registry as it is now."""
    shared = client.state(["crash/shared"]).prompts.get("crash/shared")
    version = max(shared.versions) + 1 if shared else 1
    uploads = [text_version(n, 1, f"{n}: {TEXT}") for n in names_of(index, batch)]
    uploads.append(text_version("crash/shared", version, f"shared, by publish {index}"))
    uploads.append(text_version("crash/head", 1, "head"))  # the same each time: a no-op
    moves = [(n, "production", 1, None) for n in names_of(index, batch)]
    expected = shared.labels["production"] if shared else None
    moves.append(("crash/shared", "production", version, expected))
    moves.append(("crash/head", f"run-{index}", 1, None))
    return request(uploads, moves)


@dataclass
class Stream:
    """Large publishes sent one after another until the server dies."""

    url: str
    batch: int
    first: int  # the index of its first publish
    acknowledged: list[int] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    acked_at: float = 0.0

    def run(self) -> None:
        with RegistryClient(self.url, timeout=120, retries=0) as client:
            index = self.first
            while True:
                try:
                    body = large_publish(client, index, self.batch)
                    self.sent.append(index)
                    began = time.monotonic()
                    client.publish(body)
                except RegistryUnavailable as exc:
                    if exc.status is not None and exc.status >= 500:
                        self.server_errors.append(str(exc))
                    return  # killed mid-request: this publish was not acknowledged
                self.durations.append(time.monotonic() - began)
                self.acknowledged.append(index)
                self.acked_at = time.monotonic()
                index += 1


def check_whole(
    stored: Stored, sent: list[int], acknowledged: set[int], batch: int
) -> Counter[str]:
    """Every publish sent is all there or not there at all, and there if acknowledged;
    returns how the unacknowledged ones ended."""
    ended: Counter[str] = Counter()
    stored_names = {n for n, _ in stored.hashes}
    shared = [v for n, v in stored.hashes if n == "crash/shared"]  # one per committed publish
    for index in sent:
        names = names_of(index, batch)
        present = [n for n in names if n in stored_names]
        run = ("crash/head", f"run-{index}") in stored.labels
        whole = present == names and run
        assert whole or (present == [] and not run), (
            f"publish {index} is partly there: {len(present)} of {len(names)} prompts, "
            f"label run-{index} {'set' if run else 'missing'}"
        )
        if index in acknowledged:
            assert whole, f"acknowledged publish {index} is missing"
        else:
            ended["committed" if whole else "rolled back"] += 1
        for n in present:
            assert stored.labels[(n, "production")] == 1
    committed = [i for i in sent if ("crash/head", f"run-{i}") in stored.labels]
    assert sorted(shared) == list(range(1, len(committed) + 1))
    assert stored.labels[("crash/shared", "production")] == len(committed)
    return ended


def test_sigkill_inside_large_publishes_leaves_each_whole_or_absent(
    db_url: str, tmp_path: Path, full: bool
) -> None:
    rounds, batch = size(full, 3, 30), BATCH
    log = tmp_path / "server.log"
    shuffle = random.Random(17)
    sent: list[int] = []
    acknowledged: set[int] = set()
    ended: Counter[str] = Counter()
    server_errors: list[str] = []
    durations: list[float] = []
    inside = 0  # rounds whose kill came while a publish was in flight
    began = time.monotonic()
    for _ in range(rounds):
        with ServerProcess(db_url, log_path=log) as server:
            stream = Stream(server.url, batch, first=max(sent, default=-1) + 1)
            thread = threading.Thread(target=stream.run)
            thread.start()
            while len(stream.acknowledged) < ACKNOWLEDGED_FIRST and thread.is_alive():
                time.sleep(0.005)
            # The next publish is on its way: kill somewhere inside it.
            typical = sum(stream.durations) / max(len(stream.durations), 1)
            at = stream.acked_at + shuffle.uniform(0.0, 1.1) * typical
            time.sleep(max(0.0, at - time.monotonic()))
            server.kill()
            thread.join(timeout=30)
        assert not thread.is_alive()
        assert len(stream.acknowledged) >= ACKNOWLEDGED_FIRST, log.read_text()[-3000:]
        inside += stream.sent[-1] not in stream.acknowledged
        sent += stream.sent
        acknowledged |= set(stream.acknowledged)
        server_errors += stream.server_errors
        durations += stream.durations
        # What the crash left, read before any server opens the database again.
        stored = audit_database(db_url)
        assert stored.problems == [], stored.problems[:10]
        ended = check_whole(stored, sent, acknowledged, batch)

    with ServerProcess(db_url, log_path=log) as restarted:
        stored = audit_database(db_url)
        served = audit_served([restarted.url], stored)
    ended = check_whole(stored, sent, acknowledged, batch)
    print(
        f"\n[{db_url.split(':')[0]}] {rounds} rounds of SIGKILL, {inside} of them inside a "
        f"publish of {batch} prompts: {len(sent)} publishes sent, {len(acknowledged)} "
        f"acknowledged (each took {min(durations):.2f}-{max(durations):.2f} s), of the "
        f"unacknowledged {ended['committed']} committed and {ended['rolled back']} rolled "
        f"back, 0 partial, 0 dangling labels, {len(server_errors)} 5xx; "
        f"{len(stored.hashes)} versions re-hashed in the database and as served; "
        f"{time.monotonic() - began:.1f} s"
    )
    assert server_errors == [], server_errors[:3]
    assert served == [], served[:10]
    assert inside >= 1  # the kills did land inside publishes
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
