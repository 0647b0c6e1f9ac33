"""Publishers racing through real `promptrail serve` processes lose nothing, store nothing
twice and never see a 5xx: on one process and on two sharing the database, on each backend.

Each round is one prompt; every publisher publishes to it at once (a barrier starts them):

- identical: all send the same version 1 (and production on it). Exactly one publish
  creates it; every other is a no-op (or a clean 409) and nothing is stored twice.
- conflicting: each sends its own content as the next version, re-planning after each
  409, until it is acknowledged. Every acknowledged publish has its own version serving
  its content; production walks up the versions one publish at a time.

Full size (`--full`) is 16 publishers x 50 publishes, quick 8 x 3; `-s` shows the figures.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import BACKENDS, empty_database
from kit import request, text_version
from promptrail.api.client import RegistryClient
from promptrail.errors import Conflict, RegistryUnavailable
from reliability.audit import audit_database, audit_served
from reliability.conftest import size
from serverproc import ServerProcess

pytestmark = pytest.mark.slow


@dataclass
class Tally:
    """What the publishers saw, summed over all of them."""

    acknowledged: list[tuple[int, int, int, str]] = field(default_factory=list)
    created: Counter[int] = field(default_factory=Counter)  # round -> publishes that created
    unchanged: int = 0
    conflicts: int = 0
    server_errors: list[str] = field(default_factory=list)  # 5xx, each with its message
    unreachable: list[str] = field(default_factory=list)  # no answer at all
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Registry:
    """Two server processes on one database, for the module: a test on one process uses
    the first; each test publishes prompts of its own (`prefix`)."""

    db_url: str
    procs: list[ServerProcess]
    folder: Path

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.folder.glob("server*.log")))


@pytest.fixture(scope="module", params=BACKENDS)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    from promptrail.store import Store, migrate

    folder = tmp_path_factory.mktemp("publishers")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(empty_database(request.param, folder))
        store = Store.open(url)
        try:
            migrate.upgrade(store.engine)  # before either starts: neither has to migrate
        finally:
            store.close()
        procs = [ServerProcess(url, log_path=folder / f"server{i}.log") for i in range(2)]
        for proc in procs:
            stack.callback(proc.stop)
        with ThreadPoolExecutor(2) as pool:  # a start takes seconds on a busy machine
            list(pool.map(ServerProcess.start, procs))
        yield Registry(url, procs, folder)


def text_of(publisher: int, round_: int, mode: str) -> str:
    if mode == "identical":
        return f"round {round_}: the one text everyone publishes {{{{x}}}}\n" * 20
    return f"round {round_}: publisher {publisher}'s own text {{{{x}}}}\n" * 20


def publisher(
    index: int,
    url: str,
    prefix: str,
    rounds: int,
    mode: str,
    start: threading.Barrier,
    tally: Tally,
) -> None:
    try:
        with RegistryClient(url, timeout=120) as client:
            for round_ in range(rounds):
                start.wait()
                publish_once(client, index, f"{prefix}/r{round_:03d}", round_, mode, tally)
    except BaseException:
        start.abort()  # the others stop waiting for this one
        raise


def publish_once(
    client: RegistryClient, index: int, name: str, round_: int, mode: str, tally: Tally
) -> None:
    """Publish this publisher's text of the round until acknowledged (re-planning after a
    409), or refused cleanly (identical content), or failed (5xx, no answer: tallied)."""
    while True:
        if mode == "identical":
            version, expected = 1, None
        else:  # plan against the registry as it is now
            prompt = client.state([name]).prompts.get(name)
            version = max(prompt.versions) + 1 if prompt else 1
            expected = prompt.labels.get("production") if prompt else None
        up = text_version(name, version, text_of(index, round_, mode))
        body = request([up], [(name, "production", version, expected)])
        try:
            result = client.publish(body)
        except Conflict:
            with tally.lock:
                tally.conflicts += 1
            if mode == "identical":
                return  # a clean refusal: the version is there with this content
            continue
        except RegistryUnavailable as exc:
            with tally.lock:
                if exc.status is not None and exc.status >= 500:
                    tally.server_errors.append(str(exc))
                else:
                    tally.unreachable.append(str(exc))
            return  # the tallies fail the test afterwards
        with tally.lock:
            if result.unchanged:
                tally.unchanged += 1
            else:
                assert result.created == [{"name": name, "version": version, "hash": up.hash}]
                tally.created[round_] += 1
            tally.acknowledged.append((index, round_, version, up.hash))
        return


@pytest.mark.parametrize("processes", [1, 2], ids=["one-process", "two-processes"])
@pytest.mark.parametrize("mode", ["identical", "conflicting"])
def test_racing_publishers_lose_nothing_and_store_nothing_twice(
    registry: Registry, full: bool, mode: str, processes: int
) -> None:
    writers, rounds = size(full, 8, 16), size(full, 3, 50)
    prefix = f"{mode}-{processes}"
    names = [f"{prefix}/r{r:03d}" for r in range(rounds)]
    procs = registry.procs[:processes]
    tally = Tally()
    began = time.monotonic()
    start = threading.Barrier(writers)
    with ThreadPoolExecutor(writers) as pool:
        done = [
            pool.submit(publisher, i, procs[i % processes].url, prefix, rounds, mode, start, tally)
            for i in range(writers)
        ]
        for future in done:
            future.result()
    raced = time.monotonic() - began
    stored = audit_database(registry.db_url)
    served = audit_served([p.url for p in procs], stored)
    with RegistryClient(procs[-1].url) as client:
        histories = {
            name: [
                (e.from_version, e.to_version)
                for e in client.label_history(name, "production").events
            ]
            for name in names
        }
        texts = {(n, v): client.get(n, version=v).prompt for n, v in stored.hashes if n in names}
    ours = {key: digest for key, digest in stored.hashes.items() if key[0] in histories}
    print(
        f"\n[{registry.db_url.split(':')[0]}, {processes} process(es), {mode}] {writers} "
        f"publishers x {rounds} publishes: {len(tally.acknowledged)} acknowledged "
        f"({sum(tally.created.values())} created a version, {tally.unchanged} no-ops), "
        f"{tally.conflicts} conflicts (409), {len(tally.server_errors)} 5xx, "
        f"{len(tally.unreachable)} unanswered, {len(ours)} versions stored; "
        f"race {raced:.1f} s, audit {time.monotonic() - began - raced:.1f} s"
    )

    assert tally.server_errors == [], tally.server_errors[:3]
    assert tally.unreachable == [], tally.unreachable[:3]
    assert "Traceback" not in registry.logs(), registry.logs()[-3000:]
    assert stored.problems == [], stored.problems[:10]
    assert served == [], served[:10]
    assert sorted({n for n, _ in ours}) == names
    if mode == "identical":
        # Each round: one publish made the version, every other one was a no-op or a 409.
        assert tally.created == Counter(dict.fromkeys(range(rounds), 1))
        assert tally.unchanged + tally.conflicts == (writers - 1) * rounds
        for r, name in enumerate(names):
            assert stored.versions_of(name) == [1]
            assert texts[(name, 1)] == text_of(0, r, mode)
            assert stored.labels[(name, "production")] == 1
            assert histories[name] == [(None, 1)]
    else:
        # Every publisher was acknowledged once a round, each with a version of its own.
        assert len(tally.acknowledged) == writers * rounds
        assert tally.unchanged == 0
        assert tally.conflicts >= 1  # they did collide
        acked = {(names[r], v): (i, h) for i, r, v, h in tally.acknowledged}
        assert len(acked) == writers * rounds  # no two acknowledged publishes share a version
        assert set(acked) == set(ours)  # none lost, none stored that was not acknowledged
        for (name, version), (index, digest) in acked.items():
            assert ours[(name, version)] == digest
            assert texts[(name, version)] == text_of(index, names.index(name), mode)
        for name in names:
            assert stored.versions_of(name) == list(range(1, writers + 1))
            assert stored.labels[(name, "production")] == writers
            # production moved one version at a time, never skipping one or going back
            chain = [(None, 1)] + [(v, v + 1) for v in range(1, writers)]
            assert histories[name][::-1] == chain
