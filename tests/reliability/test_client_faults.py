"""The runtime client behind a fault proxy cannot be lied to and never takes an app down.

Every fault, for both clients: with a warm cache, or cold with a snapshot, every call is
served with the true identity (name, version, content hash, text) and none raises; cold
with nothing configured, the one documented exception (RegistryUnavailable) comes within
the timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from client.conftest import Registry
from client.faultproxy import FaultProxy
from client.test_faults import TIMEOUT, TTL, WARM_TIMEOUT, Driver, run
from promptrail.content import content_hash, content_of
from promptrail.errors import RegistryUnavailable
from reliability.conftest import size

# Each fault with the proxy mode that makes it; "wrongversion" answers with version 2.
FAULTS = {
    "refuse": "refuse",
    "blackhole": "blackhole",
    "slow": "delay",
    "500": "500",
    "503": "503",
    "malformed": "garbage",
    "truncated": "truncate",
    "wrongtype": "wrongtype",
    "reset": "reset",
    "foreign404": "foreign404",
    "wrongprompt": "wrongprompt",
    "wrongversion": "wrongprompt",
    "tampered": "tampered",
}
LIES = {"wrongprompt", "wrongversion", "tampered"}
LIVE = "live {{x}}"
LIVE_HASH = content_hash(content_of("text", LIVE, None, {}))


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def arm(proxy: FaultProxy, fault: str, name: str) -> None:
    proxy.impostor = None
    if fault == "wrongprompt":
        proxy.impostor = f"/api/v1/prompts/{name}-other?label=production"
    elif fault == "wrongversion":
        proxy.impostor = f"/api/v1/prompts/{name}?version=2"
    proxy.set_mode(FAULTS[fault], delay=5)


def publish_live(registry: Registry, name: str) -> None:
    registry.publish(name, 2, "older {{x}}", labels={"staging": 2})
    registry.publish(name, 3, LIVE)
    registry.publish(f"{name}-other", 1, "another prompt {{x}}")


def true_identity(prompt: Any, version: int, text: str) -> bool:
    return (
        prompt.name.startswith("t/prompt-")
        and not prompt.name.endswith("-other")
        and prompt.version == version
        and prompt.hash == content_hash(content_of("text", text, None, {}))
        and prompt.compile(x=1) == text.replace("{{x}}", "1")
    )


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_warm_cache_serves_the_true_prompt_through_any_fault(
    kind: str, fault: str, registry: Registry, proxy: FaultProxy, name: str, full: bool
) -> None:
    publish_live(registry, name)
    calls, rounds = size(full, 200, 10_000), size(full, 2, 5)

    async def body() -> tuple[list[Any], int]:
        driver = Driver(kind, proxy.url)
        warm = await driver.get(name=name, cache_ttl=TTL, timeout=WARM_TIMEOUT)
        assert warm.source == "registry"
        arm(proxy, fault, name)
        results: list[Any] = []
        for _ in range(rounds):  # several expiries, so refreshes meet the fault
            await asyncio.sleep(TTL * 1.5)
            results += await driver.many(calls // rounds, name=name, cache_ttl=TTL)
        await asyncio.sleep(TIMEOUT + 0.3)  # the last background refresh lands
        results += await driver.many(10, name=name, cache_ttl=TTL)
        refused = getattr(driver.client, "untrusted_answers", 0)
        await driver.close()
        return results, refused

    results, refused = run(body)
    assert [r for r in results if isinstance(r, Exception)] == []
    wrong = [r for r in results if not true_identity(r, 3, LIVE)]
    assert wrong == [], f"{len(wrong)} of {len(results)} calls served {wrong[0]!r}"
    if fault in LIES:
        assert refused > 0  # counted (and logged)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_snapshot_serves_the_true_prompt_when_the_registry_lies_or_fails(
    kind: str,
    fault: str,
    registry: Registry,
    proxy: FaultProxy,
    name: str,
    snapshot_of: Any,
) -> None:
    publish_live(registry, name)
    snapshot = snapshot_of(name, 2, "shipped {{x}}")
    arm(proxy, fault, name)

    async def body() -> list[Any]:
        driver = Driver(kind, proxy.url, snapshot=snapshot)
        results = await driver.many(50, name=name)
        await driver.close()
        return results

    results = run(body)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert all(true_identity(r, 2, "shipped {{x}}") for r in results), results[0]
    assert {r.source for r in results} == {"snapshot"}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_cold_with_nothing_configured_raises_registry_unavailable_in_time(
    kind: str, fault: str, registry: Registry, proxy: FaultProxy, name: str
) -> None:
    publish_live(registry, name)
    arm(proxy, fault, name)

    async def body() -> None:
        driver = Driver(kind, proxy.url)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable):
            await driver.get(name=name)
        assert time.monotonic() - started < TIMEOUT + 1.0
        await driver.close()

    run(body)
