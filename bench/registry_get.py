"""The registry's hot path and its publishes, measured in one run on this machine.

    .venv/bin/python bench/registry_get.py [--seconds 5] [--db postgresql://...] [--quick]

1. GET /api/v1/prompts/support/triage?label=production (a real `promptrail serve`
   process) against a bare Starlette endpoint returning the same bytes, both under uvicorn
   with httptools + uvloop, no access log, one process each. Load comes from a second
   process on keep-alive connections, 1 and 32 at a time: `wrk` when installed
   (`apt-get install wrk`), otherwise the small asyncio load generator below (pass
   `--loader python` to force it). Goal: GET >= 80% of the bare endpoint's requests/s,
   p99 < 10 ms at 32 connections.
2. Publishes through the HTTP API (PublishRequest bodies, one request each): 1,000 new
   prompts, then 10,000, then the same 10,000 again (a no-op).

The server and the load generator share this machine's cores, so absolute numbers move
with the machine; compare the two endpoints within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # serverproc: start/stop `promptrail serve`
PATH = "/api/v1/prompts/support/triage?label=production"
MESSAGES = [
    {
        "role": "system",
        "content": "You triage support tickets for {{product}}. Answer with a queue.",
    },
    {"role": "placeholder", "name": "history"},
    {"role": "user", "content": "{{ticket}}"},
]


# -- the bare endpoint (run in its own process) ------------------------------------------------


def serve_bare(port: int, body_file: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from promptrail.cli.serve import uvicorn_options

    body = Path(body_file).read_bytes()

    async def endpoint(request: Any) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/api/v1/prompts/{name:path}", endpoint)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options())


# -- load generators ---------------------------------------------------------------------------


def load(loader: str, port: int, connections: int, seconds: float) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of keep-alive GETs from a second process."""
    if loader == "wrk":
        return _wrk(port, connections, seconds)
    args = [sys.executable, __file__, "--generate", str(port), str(connections), str(seconds)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rps, p50, p99 = json.loads(out)
    return rps, p50, p99


def _wrk(port: int, connections: int, seconds: float) -> tuple[float, float, float]:
    args = ["wrk", f"-t{1}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{PATH}"], check=True, capture_output=True, text=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def _wrk_ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{re.escape(pct)}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def generate(port: int, connections: int, seconds: float) -> None:
    """The Python load generator: `connections` keep-alive sockets, each one request at a time."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    latencies: list[float] = []
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()

    async def one(deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (start := time.perf_counter()) < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
        writer.close()

    async def main() -> float:
        warm = time.perf_counter() + 0.5
        await asyncio.gather(*(one(warm) for _ in range(connections)))
        latencies.clear()
        began = time.perf_counter()
        await asyncio.gather(*(one(began + seconds) for _ in range(connections)))
        return time.perf_counter() - began

    elapsed = asyncio.run(main())
    latencies.sort()
    pct = statistics.quantiles(latencies, n=100)
    print(json.dumps([len(latencies) / elapsed, pct[49] * 1000, pct[98] * 1000]))


# -- the run -----------------------------------------------------------------------------------


def _wait(port: int, path: str = "/api/v1/health") -> None:
    import httpx

    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")


def _request(names: list[str], version: int = 1) -> Any:
    from promptrail.api.registry import LabelMove, PublishRequest, PublishSource
    from uploads import upload

    uploads, moves = [], []
    for name in names:
        text = f"Summarise this for {{{{audience}}}}: {{{{text}}}} ({name})"
        config = {"model": "gpt-4o-mini", "temperature": 0.2}
        path = f"prompts/{name}.yaml"
        uploads.append(
            upload(name, version, prompt=text, config=config, commit="0" * 40, path=path)
        )
        moves.append(LabelMove(name=name, label="production", version=version, expected=None))
    return PublishRequest(source=PublishSource(commit="0" * 40), versions=uploads, labels=moves)


def measure_gets(server_url: str, server_port: int, loader: str, seconds: float, tmp: Path) -> None:
    import httpx

    from serverproc import free_port

    body = httpx.get(f"{server_url}{PATH}").content
    (tmp / "body.json").write_bytes(body)
    bare_port = free_port()
    bare = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare", str(bare_port), str(tmp / "body.json")]
    )
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    try:
        _wait(bare_port, PATH)
        for connections in (1, 32):
            for label, port in (("bare Starlette", bare_port), ("GET by label", server_port)):
                results[(label, connections)] = load(loader, port, connections, seconds)
    finally:
        bare.terminate()
        bare.wait()

    print(f"\nGET {PATH}  ({len(body)} bytes; load: {loader}, {seconds:g} s per run)\n")
    header = ("endpoint", "conns", "req/s", "p50 ms", "p99 ms", "vs bare")
    print("{:<16} {:>5} {:>9} {:>8} {:>8} {:>8}".format(*header))
    for (label, connections), (rps, p50, p99) in results.items():
        ratio = rps / results[("bare Starlette", connections)][0]
        print(f"{label:<16} {connections:>5} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f} {ratio:>7.0%}")
    rps32, _, p99_32 = results[("GET by label", 32)]
    goal = rps32 >= 0.8 * results[("bare Starlette", 32)][0] and p99_32 < 10
    verdict = "met" if goal else "NOT met"
    print(f"goal (>= 80% of bare, p99 < 10 ms at 32 connections): {verdict}")


def measure_publishes(client: Any, quick: bool) -> None:
    small, large = (200, 2000) if quick else (1000, 10_000)
    print()
    for what, names in (
        (f"publish {small:,} new prompts", [f"bench/a{i:05d}" for i in range(small)]),
        (f"publish {large:,} new prompts", [f"bench/b{i:05d}" for i in range(large)]),
        (f"no-op publish of {large:,}", [f"bench/b{i:05d}" for i in range(large)]),
    ):
        request = _request(names)
        started = time.perf_counter()
        result = client.publish(request)
        took = time.perf_counter() - started
        assert result.unchanged == what.startswith("no-op"), result
        size = len(json.dumps(request.model_dump(mode="json")))
        print(f"{what:<32} {took:.2f} s  ({size / 1e6:.1f} MB body, one request)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per load run")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--loader", choices=["wrk", "python"], default=None)
    parser.add_argument("--quick", action="store_true", help="2 s runs, smaller publishes")
    args = parser.parse_args()
    loader = args.loader or ("wrk" if shutil.which("wrk") else "python")
    seconds = 2.0 if args.quick else args.seconds

    from promptrail.api.client import RegistryClient
    from promptrail.api.registry import LabelMove, PublishRequest
    from serverproc import ServerProcess
    from uploads import upload

    tmp = Path(tempfile.mkdtemp(prefix="promptrail-bench-"))
    db = args.db or f"sqlite:///{tmp / 'registry.db'}"
    triage = upload("support/triage", 1, messages=MESSAGES, config={"model": "gpt-4o-mini"})
    with (
        ServerProcess(db, log_path=tmp / "server.log") as server,
        RegistryClient(server.url, timeout=600) as client,
    ):
        client.publish(
            PublishRequest(
                versions=[triage],
                labels=[LabelMove(name="support/triage", label="production", version=1)],
            )
        )
        measure_gets(server.url, server.port, loader, seconds, tmp)
        measure_publishes(client, args.quick)
    print(f"\n(database: {db.split('://')[0]}; server log: {tmp / 'server.log'})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--generate":
        generate(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    else:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        main()
