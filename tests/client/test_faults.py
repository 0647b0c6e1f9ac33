"""Every way the registry can fail, for both clients: answers keep coming, tagged by source."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path
from typing import Any

import pytest

from promptrail.client import AsyncClient, Client
from promptrail.errors import RegistryUnavailable
from waiting import wait_until

from .conftest import Registry
from .faultproxy import FaultProxy

FAULTS = ["refuse", "blackhole", "delay", "500", "truncate", "garbage", "404"]
TTL = 0.1
TIMEOUT = 0.3  # short, so that blackhole and delay cost little; the logic is the same
WARM_TIMEOUT = 10.0  # warming the cache precedes the fault: a busy machine must not fail it


class Driver:
    """One test body for both clients: awaits AsyncClient calls, makes Client calls directly."""

    def __init__(self, kind: str, url: str, **kwargs: Any):
        self.kind = kind
        self.client = (Client if kind == "sync" else AsyncClient)(url, timeout=TIMEOUT, **kwargs)

    async def get(self, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return self.client.get_prompt(**kwargs)
        return await self.client.get_prompt(**kwargs)

    async def many(self, n: int, **kwargs: Any) -> list[Any]:
        """`n` calls one after the other; exceptions are returned, not raised."""
        out: list[Any] = []
        for i in range(n):
            try:
                out.append(await self.get(**kwargs))
            except Exception as exc:
                out.append(exc)
            if i % 100 == 0:  # a cache hit never suspends: let refresh tasks run meanwhile
                await asyncio.sleep(0.001)
        return out

    async def close(self) -> None:
        if self.kind == "sync":
            self.client.close()
        else:
            await self.client.aclose()


def run(body: Any) -> Any:
    return asyncio.run(body())


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize("fault", FAULTS)
def test_warm_cache_answers_ten_thousand_calls_through_any_fault(
    kind: str, fault: str, registry: Registry, proxy: FaultProxy, name: str, snapshot_of: Any
) -> None:
    registry.publish(name, 3, "live {{x}}")
    snapshot = snapshot_of(name, 2, "shipped {{x}}")

    async def body() -> tuple[list[Any], float]:
        driver = Driver(kind, proxy.url, snapshot=snapshot)
        warm = await driver.get(name=name, cache_ttl=TTL, timeout=WARM_TIMEOUT)
        assert warm.source == "registry"
        proxy.set_mode(fault, delay=5)
        await asyncio.sleep(TTL)
        started = time.monotonic()
        results = await driver.many(10_000, name=name, cache_ttl=TTL, fallback="fb {{x}}")
        elapsed = time.monotonic() - started
        await driver.close()
        return results, elapsed

    results, elapsed = run(body)
    assert [r for r in results if isinstance(r, Exception)] == []
    sources = collections.Counter(r.source for r in results)
    if fault == "404":
        # The registry says the label is gone: the stale copy is evicted, the snapshot serves.
        assert set(sources) <= {"stale", "snapshot"}, sources
        assert sources["snapshot"] > 0
        assert all(r.version == 2 for r in results if r.source == "snapshot")
    else:
        assert sources == {"stale": 10_000}
        assert all(r.version == 3 and r.compile(x=1) == "live 1" for r in results[:10])
    assert elapsed < 5.0  # answered from memory: no call waited on the broken registry


@pytest.mark.parametrize("fault", FAULTS)
def test_cold_call_with_a_fallback_returns_within_its_timeout(
    kind: str, fault: str, proxy: FaultProxy, name: str
) -> None:
    proxy.set_mode(fault, delay=5)

    async def body() -> None:
        driver = Driver(kind, proxy.url)
        started = time.monotonic()
        prompt = await driver.get(name=name, fallback=[{"role": "user", "content": "{{q}}"}])
        assert time.monotonic() - started < TIMEOUT + 1.0
        assert (prompt.source, prompt.version, prompt.label) == ("fallback", None, "production")
        assert prompt.compile(q="hi") == [{"role": "user", "content": "hi"}]
        # The next calls do not wait again: the failure is remembered for a while.
        started = time.monotonic()
        results = await driver.many(10_000, name=name, fallback="fb")
        assert time.monotonic() - started < 5.0  # each waiting 0.3 s would take 50 minutes
        assert {r.source for r in results} == {"fallback"}
        await driver.close()

    run(body)


@pytest.mark.parametrize("fault", ["refuse", "blackhole", "garbage"])
def test_cold_call_without_a_fallback_names_everything_tried(
    kind: str, fault: str, proxy: FaultProxy, name: str
) -> None:
    proxy.set_mode(fault)

    async def body() -> Any:
        driver = Driver(kind, proxy.url)
        [error] = await driver.many(1, name=name, label="beta")
        await driver.close()
        return error

    error = run(body)
    assert isinstance(error, RegistryUnavailable)
    message = str(error)
    assert f"prompt {name!r} (label 'beta')" in message
    assert f"registry {proxy.url}:" in message
    assert "no snapshot configured (set PROMPTRAIL_SNAPSHOT" in message
    assert "fallback=" in message


def test_cold_cache_falls_back_to_snapshot_then_folder(
    kind: str, proxy: FaultProxy, name: str, snapshot_of: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "repo" / "prompts" / "t"
    folder.mkdir(parents=True)
    (folder / f"{name.split('/')[1]}.yaml").write_text(
        "version: 7\nprompt: from disk\nlabels: [production]\n"
    )
    proxy.set_mode("refuse")
    snapshot = snapshot_of(name, 5, "from snapshot")

    async def body() -> None:
        both = Driver(kind, proxy.url, snapshot=snapshot, prompts_dir=tmp_path / "repo")
        prompt = await both.get(name=name)
        assert (prompt.source, prompt.version) == ("snapshot", 5)
        folder_only = Driver(kind, proxy.url, prompts_dir=tmp_path / "repo")
        prompt = await folder_only.get(name=name)
        assert (prompt.source, prompt.version, prompt.prompt) == ("folder", 7, "from disk")
        await both.close()
        await folder_only.close()

    run(body)


def test_registry_recovery_replaces_the_stale_copy(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    registry.publish(name, 1, "one")
    client = Client(proxy.url, timeout=TIMEOUT)
    client.get_prompt(name, cache_ttl=TTL)
    proxy.set_mode("500")
    registry.publish(name, 2, "two")
    time.sleep(TTL)
    assert client.get_prompt(name, cache_ttl=TTL).source == "stale"
    proxy.set_mode("pass")
    wait_until(  # the next refresh waits out its backoff (1 s)
        lambda: client.get_prompt(name, cache_ttl=TTL).version,
        lambda version: version == 2,
        what="version 2 after the registry recovered",
    )


def test_async_cold_cache_makes_one_request_per_key_for_a_thousand_tasks(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    for n in range(4):
        registry.publish(f"{name}-{n}", 1, f"text {n}")
    proxy.set_mode("delay", 0.2)

    async def main() -> list[str]:
        async with AsyncClient(proxy.url) as client:
            prompts = await asyncio.gather(
                *(client.get_prompt(f"{name}-{i % 4}") for i in range(1000))
            )
            return [p.prompt for p in prompts]

    texts = asyncio.run(main())
    assert collections.Counter(texts) == {f"text {n}": 250 for n in range(4)}
    for n in range(4):
        assert proxy.requests(f"{name}-{n}?") == 1


def test_a_caller_joining_a_slow_fetch_waits_only_its_own_timeout(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    import threading

    registry.publish(name, 1, "slow")
    proxy.set_mode("delay", 1.0)
    client = Client(proxy.url)
    first: list[Any] = []
    owner = threading.Thread(target=lambda: first.append(client.get_prompt(name, timeout=5)))
    owner.start()
    time.sleep(0.1)  # the owner's request is in flight
    started = time.monotonic()
    joined = client.get_prompt(name, timeout=0.2, fallback="fb")
    assert time.monotonic() - started < 0.2 + 0.5
    assert joined.source == "fallback"
    owner.join()
    assert first[0].prompt == "slow"
    assert proxy.requests(name) == 1
    client.close()
