"""Racing publishers and a server killed mid-stream: nothing lost, duplicated or half-done."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kit import publish_text, request, text_version
from promptrail.api.client import RegistryClient
from promptrail.api.registry import PublishRequest
from promptrail.errors import Conflict
from serverproc import ServerProcess

WRITERS = 8


def test_eight_publishers_racing_on_one_prompt_lose_nothing(
    client: RegistryClient, unique_name: str
) -> None:
    name = unique_name
    publish_text(client, name, 1, "base", {"production": None})
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> tuple[int, int]:
        """Plan against the state, publish, and re-plan after each 409; (version, 409s)."""
        conflicts = 0
        with RegistryClient(client.url) as mine:
            start.wait()
            while True:
                state = mine.state([name]).prompts[name]
                version = max(state.versions) + 1
                body = request(
                    [text_version(name, version, f"writer {index}")],
                    [(name, "production", version, state.labels["production"])],
                )
                try:
                    mine.publish(body)  # any 5xx raises RegistryUnavailable and fails the test
                    return version, conflicts
                except Conflict:
                    conflicts += 1

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(writer, range(WRITERS)))

    won = sorted(version for version, _ in results)
    assert won == list(range(2, WRITERS + 2))  # each got its own version, none lost
    assert sum(conflicts for _, conflicts in results) >= 1  # they did collide
    versions = client.versions(name).versions
    assert sorted(v.version for v in versions) == list(range(1, WRITERS + 2))
    texts = {client.get(name, version=v).prompt for v in range(2, WRITERS + 2)}
    assert texts == {f"writer {i}" for i in range(WRITERS)}  # no content twice
    moves = [(e.from_version, e.to_version) for e in client.label_history(name).events]
    assert moves[::-1] == [(None, 1)] + [(v, v + 1) for v in range(1, WRITERS + 1)]
    assert client.get(name).version == WRITERS + 1


BATCH = 15  # prompts per publish in the crash stream


def _batch(index: int) -> PublishRequest:
    names = [f"crash{index:03d}/p{j:02d}" for j in range(BATCH)]
    return request(
        [text_version(n, 1, f"{n} text") for n in names],
        [(n, "production", 1, None) for n in names] + [("crash/head", f"run-{index}", 1, None)],
    )


@pytest.mark.slow
def test_sigkill_in_a_publish_stream_keeps_every_acknowledged_publish_whole(
    db_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    acknowledged: list[int] = []
    with ServerProcess(db_url, log_path=log) as server:
        with RegistryClient(server.url) as setup:
            setup.publish(request([text_version("crash/head", 1, "head")]))
        stop = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=server.url, timeout=5) as http:
                index = 0
                while not stop.is_set():
                    body = _batch(index).model_dump(mode="json")
                    try:
                        response = http.post("/api/v1/publish", json=body)
                    except httpx.HTTPError:
                        return  # the server died mid-request: this publish was not acknowledged
                    assert response.status_code == 200, response.text
                    acknowledged.append(index)
                    index += 1

        thread = threading.Thread(target=stream)
        thread.start()
        while len(acknowledged) < 8 and thread.is_alive():
            threading.Event().wait(0.01)
        server.kill()
        stop.set()
        thread.join(timeout=10)
    assert len(acknowledged) >= 8, log.read_text()

    with ServerProcess(db_url, log_path=log) as restarted, RegistryClient(restarted.url) as after:
        state = after.state().prompts
        runs = state["crash/head"].labels
        for index in range(max(acknowledged) + 2):  # the acknowledged ones and the one in flight
            names = [f"crash{index:03d}/p{j:02d}" for j in range(BATCH)]
            present = [n for n in names if n in state]
            if index in acknowledged:
                assert present == names, f"acknowledged publish {index} is incomplete"
            assert present in ([], names), f"publish {index} is half there: {present}"
            whole = bool(present)
            assert (f"run-{index}" in runs) == whole
            for n in present:
                assert state[n].labels == {"production": 1}
                assert after.get(n).prompt == f"{n} text"
