"""The client against a real `promptrail serve` process: cache, refresh, ETags, snapshots."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from appserver import AppServer
from conftest import run_cli
from promptrail.client import AsyncClient, Client
from promptrail.errors import PromptNotFound, RegistryUnavailable
from waiting import wait_until

from .conftest import Registry, in_forked_child
from .faultproxy import FaultProxy


def test_fetches_then_serves_from_memory(registry: Registry, proxy: FaultProxy, name: str) -> None:
    registry.publish(name, 1, "Hello {{who}}", config={"model": "m"})
    with Client(proxy.url) as client:
        first = client.get_prompt(name)
        assert (first.source, first.version, first.label) == ("registry", 1, "production")
        assert first.compile(who="Ann") == "Hello Ann"
        assert dict(first.config) == {"model": "m"}
        second = client.get_prompt(name)
        assert second.source == "cache"
        assert second.hash == first.hash
        for _ in range(10_000):
            assert client.get_prompt(name) is second
    assert proxy.requests(name) == 1


def test_chat_prompts_compile_to_messages(registry: Registry, proxy: FaultProxy, name: str) -> None:
    messages = [
        {"role": "system", "content": "Help with {{product}}."},
        {"role": "placeholder", "name": "history"},
        {"role": "user", "content": "{{question}}"},
    ]
    registry.publish(name, 1, messages=messages)
    prompt = Client(proxy.url).get_prompt(name)
    history = [{"role": "user", "content": "hi"}]
    assert prompt.compile(product="Acme", question="why?", history=history) == [
        {"role": "system", "content": "Help with Acme."},
        {"role": "user", "content": "hi"},
        {"role": "user", "content": "why?"},
    ]


def test_a_moved_label_is_served_after_the_ttl_and_a_version_pin_never_moves(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    registry.publish(name, 1, "one")
    client = Client(proxy.url)
    ttl = 0.3
    assert client.get_prompt(name, cache_ttl=ttl).prompt == "one"
    assert client.get_prompt(name, version=1, cache_ttl=ttl).prompt == "one"
    registry.publish(name, 2, "two")
    time.sleep(ttl)
    proxy.set_mode("delay", 1.0)  # a slow registry: the caller must not wait for the refresh
    started = time.monotonic()
    stale = client.get_prompt(name, cache_ttl=ttl)
    assert time.monotonic() - started < 0.5
    assert (stale.prompt, stale.source) == ("one", "stale")
    wait_until(
        lambda: client.get_prompt(name, cache_ttl=ttl).version,
        lambda version: version == 2,
        every=0.01,
        what="version 2 served",
    )
    moved = client.get_prompt(name, cache_ttl=ttl)
    assert (moved.prompt, moved.source, moved.label) == ("two", "cache", "production")
    proxy.set_mode("pass")
    for _ in range(20):  # refreshed several times over: the pinned version stays
        assert client.get_prompt(name, version=1, cache_ttl=0.05).prompt == "one"
        time.sleep(0.02)
    assert proxy.requests(f"{name}?version=1") > 1
    client.close()


def test_unchanged_prompts_are_revalidated_with_their_etag(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    registry.publish(name, 1, "same")
    client = Client(proxy.url)
    first = client.get_prompt(name, cache_ttl=0.05)
    time.sleep(0.06)
    client.get_prompt(name, cache_ttl=0.05)
    wait_until(lambda: proxy.statuses[304], lambda n: n == 1, every=0.01, what="one 304 answered")
    assert client.get_prompt(name, cache_ttl=0.05).hash == first.hash
    assert client.get_prompt(name, cache_ttl=0.05).source == "cache"  # extended, not stale


def test_a_label_removed_from_the_registry_is_evicted(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    registry.publish(name, 1, "v1", labels={"production": 1, "beta": 1})
    client = Client(proxy.url)
    assert client.get_prompt(name, label="beta", cache_ttl=0.05).version == 1
    registry.publish(name, 1, labels={"beta": None})
    time.sleep(0.06)
    assert client.get_prompt(name, label="beta", cache_ttl=0.05).source == "stale"
    wait_until(
        lambda: client.get_prompt(name, label="beta", cache_ttl=0.05, fallback="x").source,
        lambda source: source == "fallback",
        every=0.01,
        what="the fallback answered",
    )
    with pytest.raises(PromptNotFound) as caught:
        client.get_prompt(name, label="beta", cache_ttl=0.05)
    assert f"prompt {name!r} (label 'beta') not found" in str(caught.value)
    assert "fallback=" in str(caught.value)
    served = client.get_prompt(name, label="beta", fallback="fb")
    assert (served.source, served.version, served.label) == ("fallback", None, "beta")


def test_unknown_prompt_says_what_was_tried(proxy: FaultProxy) -> None:
    with pytest.raises(PromptNotFound) as caught:
        Client(proxy.url).get_prompt("no/such-prompt", label="staging")
    message = str(caught.value)
    assert "prompt 'no/such-prompt' (label 'staging') not found" in message
    assert f"registry {proxy.url}: not found" in message
    assert "PROMPTRAIL_SNAPSHOT" in message


def test_two_hundred_threads_on_a_cold_cache_make_one_request_per_key(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    import threading

    for n in range(3):
        registry.publish(f"{name}-{n}", 1, f"text {n}")
    proxy.set_mode("delay", 0.3)  # every thread arrives while the first request is in flight
    client = Client(proxy.url)
    barrier = threading.Barrier(200)
    results: list[object] = []

    def worker(i: int) -> None:
        barrier.wait()
        results.append(client.get_prompt(f"{name}-{i % 3}").prompt)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(results)) == ["text 0", "text 1", "text 2"]  # type: ignore[type-var]
    assert len(results) == 200
    for n in range(3):
        assert proxy.requests(f"{name}-{n}?") == 1


def test_thread_count_stays_flat_over_ten_thousand_calls(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    import threading

    registry.publish(name, 1, "x")
    client = Client(proxy.url)
    client.get_prompt(name, cache_ttl=0.001)
    before = threading.active_count()
    counts = []
    for i in range(10_000):
        client.get_prompt(name, cache_ttl=0.001)  # stale nearly every time: refreshes galore
        if i % 1000 == 0:
            counts.append(threading.active_count())
            time.sleep(0.002)
    assert proxy.requests(name) > 1  # it did refresh
    assert max(counts) <= before + 2  # the refresh threads, no more
    assert threading.active_count() <= before + 2


def test_snapshot_from_the_registry_serves_when_it_is_down(
    registry: Registry, proxy: FaultProxy, name: str, tmp_path: Path
) -> None:
    registry.publish(name, 1, "one")
    registry.publish(name, 2, "two", labels={"staging": 2})
    out = tmp_path / "prompts.snapshot.json"
    result = run_cli("snapshot", "--registry", proxy.url, "-o", str(out), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    saved = json.loads(out.read_text())["prompts"][name]
    assert saved["labels"] == {"latest": 2, "production": 1, "staging": 2}
    live = Client(proxy.url).get_prompt(name, label="staging")

    proxy.set_mode("refuse")
    client = Client(proxy.url, snapshot=out, timeout=0.5)
    staging = client.get_prompt(name, label="staging")
    assert (staging.source, staging.version, staging.hash) == ("snapshot", 2, live.hash)
    assert client.get_prompt(name).prompt == "one"
    only = tmp_path / "production.json"
    proxy.set_mode("pass")
    result = run_cli("snapshot", "--registry", proxy.url, "-l", "production", "-o", str(only))
    assert result.exit_code == 0, result.output
    assert json.loads(only.read_text())["prompts"][name]["labels"] == {"production": 1}


def test_snapshot_needs_a_reachable_registry(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.set_mode("refuse")
    result = run_cli("snapshot", "--registry", proxy.url, "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 3  # the registry is unavailable
    assert f"cannot reach the registry at {proxy.url}" in result.stderr
    assert not (tmp_path / "s.json").exists()


def test_a_key_the_registry_refuses_is_explained(tmp_path: Path) -> None:
    with AppServer(f"sqlite:///{tmp_path / 'auth.db'}", auth=True) as server:
        client = Client(server.url, api_key="wrong", timeout=1)
        with pytest.raises(RegistryUnavailable, match="PROMPTRAIL_API_KEY"):
            client.get_prompt("anything")


def test_forked_child_gets_prompts_and_refreshes(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    registry.publish(name, 1, "forked")
    client = Client(proxy.url)
    client.get_prompt(name, cache_ttl=0.01)
    time.sleep(0.02)
    proxy.set_mode("delay", 0.5)
    client.get_prompt(name, cache_ttl=0.01)  # the parent's refresh is in flight during the fork
    registry.publish(f"{name}-new", 1, "new")

    def child() -> bool:
        ok = client.get_prompt(name, cache_ttl=0.01).prompt == "forked"
        return ok and client.get_prompt(f"{name}-new", timeout=5).source == "registry"

    in_forked_child(child)


def test_exits_promptly_with_a_refresh_pending(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    import subprocess
    import sys

    registry.publish(name, 1, "x")
    script = (
        "import sys, time\n"
        "from promptrail import Client\n"
        f"client = Client({proxy.url!r}, timeout=30)\n"
        f"client.get_prompt({name!r}, cache_ttl=0.01)\n"
        "print('warm', flush=True)\n"
        "sys.stdin.readline()\n"
        "time.sleep(0.05)\n"
        f"p = client.get_prompt({name!r}, cache_ttl=0.01)\n"
        "assert p.source == 'stale', p\n"
        "time.sleep(0.2)\n"  # the refresh is now waiting on the blackhole
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline().strip() == "warm"
        proxy.set_mode("blackhole")
        started = time.monotonic()
        child.stdin.write("go\n")
        child.stdin.flush()
        try:
            assert child.wait(timeout=10) == 0
        finally:
            child.kill()
    assert time.monotonic() - started < 2.0
    assert proxy.requests(name) == 2  # the refresh did start


def test_preload_warms_the_cache_and_reports_each_name(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    import asyncio

    registry.publish(name, 1, "ready")
    with Client(proxy.url) as client:
        results = client.preload([name, f"{name}-missing"])
        assert results[name].source == "registry"
        assert isinstance(results[f"{name}-missing"], PromptNotFound)
        assert client.get_prompt(name).source == "cache"

    async def main() -> dict:
        async with AsyncClient(proxy.url) as client:
            results = await client.preload([name, f"{name}-missing"])
            assert (await client.get_prompt(name)).source == "cache"
            return results

    results = asyncio.run(main())
    assert results[name].version == 1
    assert isinstance(results[f"{name}-missing"], PromptNotFound)
    assert proxy.requests(name + "?") == 2  # one per client, none for the hits


def test_zero_ttl_revalidates_on_every_call(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    registry.publish(name, 1, "one")
    with Client(proxy.url) as client:
        assert client.get_prompt(name, cache_ttl=0).prompt == "one"
        assert client.get_prompt(name, cache_ttl=0).prompt == "one"
        assert proxy.statuses[304] == 1  # asked again, with the ETag
        registry.publish(name, 2, "two")
        assert client.get_prompt(name, cache_ttl=0).prompt == "two"  # no TTL to wait out


def test_snapshot_all_versions_serves_version_pins(
    registry: Registry, proxy: FaultProxy, name: str, tmp_path: Path
) -> None:
    registry.publish(name, 1, "one")
    registry.publish(name, 2, "two")  # production moves on; nothing points at 1 any more
    labelled, everything = tmp_path / "labelled.json", tmp_path / "all.json"
    assert run_cli("snapshot", "--registry", proxy.url, "-o", str(labelled)).exit_code == 0
    result = run_cli("snapshot", "--registry", proxy.url, "--all-versions", "-o", str(everything))
    assert result.exit_code == 0, result.output
    assert list(json.loads(labelled.read_text())["prompts"][name]["versions"]) == ["2"]
    assert list(json.loads(everything.read_text())["prompts"][name]["versions"]) == ["1", "2"]
    proxy.set_mode("refuse")
    pinned = Client(proxy.url, snapshot=everything).get_prompt(name, version=1)
    assert (pinned.source, pinned.prompt, pinned.label) == ("snapshot", "one", None)


def test_a_refresh_still_running_at_close_opens_no_connection_pool(
    registry: Registry, proxy: FaultProxy, name: str
) -> None:
    # A background refresh can be past its "is the client closed?" check when close()
    # runs; it must not then open a pool (and sockets) that nobody would close.
    registry.publish(name, 1, "one")
    client = Client(proxy.url)
    client.get_prompt(name)
    client.close()
    asked = proxy.requests(name)
    refresh = client._fetch((name, "production", None), None, time.monotonic() + 1, 0)
    assert (refresh.kind, "closed" in refresh.message) == ("failed", True)
    assert client._res.http is None
    assert proxy.requests(name) == asked
