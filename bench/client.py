"""The runtime client against the Langfuse Python SDK, in one run on this machine.

    .venv/bin/pip install -e '.[bench]'     # the Langfuse SDK is a bench-only extra
    .venv/bin/python bench/client.py [--quick]

Times a cached get_prompt, a cold fetch (cache cleared, connection warm) and compile() of
a three-variable text prompt, for both clients, plus the cost of importing each package
over a bare interpreter. Cold fetches go to one tiny local HTTP server that speaks both
APIs (so the server's share is the same for both), and, for promptrail, also to a real
`promptrail serve` process. Goals: cache hit >= 10x and compile >= 2x faster than
Langfuse's, `import promptrail` (client) < 50 ms over a bare interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NAME = "customer-email"
TEXT = "Write a {{tone}} email to {{customer_name}} about {{topic}}."
VARS = {"tone": "warm", "customer_name": "Ann", "topic": "your refund"}


class _Both(BaseHTTPRequestHandler):
    """One prompt, served in promptrail's and in Langfuse's shape."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == f"/api/v1/prompts/{NAME}":
            from promptrail.content import content_hash, content_of

            body = {
                "name": NAME,
                "version": 1,
                "type": "text",
                "prompt": TEXT,
                "config": {},
                "labels": ["production"],
                "tags": [],
                "hash": content_hash(content_of("text", TEXT, None, {})),
            }
        elif path == f"/api/public/v2/prompts/{NAME}":
            body = {
                "type": "text",
                "name": NAME,
                "version": 1,
                "prompt": TEXT,
                "config": {},
                "labels": ["production"],
                "tags": [],
            }
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def best_per_call(stmt: str, scope: dict[str, Any], number: int, repeat: int = 25) -> float:
    """Seconds per call, best of `repeat` short runs (no wrapper in the loop).

    Many short runs and the minimum: on a busy machine some runs still get the CPU alone.
    """
    return min(timeit.repeat(stmt, globals=scope, number=number, repeat=repeat)) / number


def median_cold(fetch: Callable[[], Any], clear: Callable[[], None], n: int) -> float:
    times = []
    for _ in range(n):
        clear()
        started = time.perf_counter()
        fetch()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def import_costs(codes: list[str], n: int) -> list[float]:
    """Best wall time of `python -c code` for each code, minus a bare interpreter's.

    Rounds alternate the commands, so a busy spell weighs on all of them alike.
    """
    runs: dict[str, list[float]] = {code: [] for code in ["pass", *codes]}
    for _ in range(n):
        for code, times in runs.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=_clean_env())
            times.append(time.perf_counter() - started)
    bare = min(runs["pass"])
    return [min(runs[code]) - bare for code in codes]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("LANGFUSE", "PROMPTRAIL"))}


def start_registry(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from promptrail.api.registry import LabelMove, PublishRequest
    from serverproc import ServerProcess
    from uploads import upload

    server = ServerProcess(f"sqlite:///{folder / 'registry.db'}").start()
    import httpx

    request = PublishRequest(
        versions=[upload(NAME, 1, prompt=TEXT)],
        labels=[LabelMove(name=NAME, label="production", version=1)],
    )
    response = httpx.post(
        f"{server.url}/api/v1/publish",
        content=request.model_dump_json(),
        headers={"Content-Type": "application/json"},
    )
    response.raise_for_status()
    return server, server.url  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    hits = 5_000 if args.quick else 20_000
    colds = 30 if args.quick else 200
    imports = 3 if args.quick else 21

    # First, before this process starts servers and threads that compete for the CPU.
    imported = import_costs(["import promptrail; promptrail.Client", "import langfuse"], imports)
    try:
        from langfuse import Langfuse
    except ImportError:
        sys.exit("the Langfuse SDK is missing: .venv/bin/pip install -e '.[bench]'")
    from promptrail import Client

    both = ThreadingHTTPServer(("127.0.0.1", 0), _Both)
    threading.Thread(target=both.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{both.server_address[1]}"

    ours = Client(local)
    lf = Langfuse(
        public_key="pk-lf-bench", secret_key="sk-lf-bench", host=local, tracing_enabled=False
    )
    our_prompt = ours.get_prompt(NAME)
    lf_prompt = lf.get_prompt(NAME)
    assert our_prompt.compile(**VARS) == lf_prompt.compile(**VARS)

    rows: list[tuple[str, float, float]] = []
    scope = {"get": ours.get_prompt, "lf_get": lf.get_prompt, "NAME": NAME, "VARS": VARS}
    scope.update(ours_p=our_prompt, lf_p=lf_prompt)
    # Interleaved, so that load on the machine weighs on both alike.
    hit_ours, hit_lf, compile_ours, compile_lf = [], [], [], []
    for _ in range(2 if args.quick else 5):
        hit_ours.append(best_per_call("get(NAME)", scope, hits))
        hit_lf.append(best_per_call("lf_get(NAME)", scope, hits // 10))
        compile_ours.append(best_per_call("ours_p.compile(**VARS)", scope, hits // 2))
        compile_lf.append(best_per_call("lf_p.compile(**VARS)", scope, hits // 10))
    rows.append(("cached get_prompt", min(hit_ours), min(hit_lf)))
    rows.append(("compile (3 variables)", min(compile_ours), min(compile_lf)))
    get, lf_get = ours.get_prompt, lf.get_prompt
    rows.append(
        (
            "cold fetch, same tiny server",
            median_cold(lambda: get(NAME), ours._labels.clear, colds),
            median_cold(lambda: lf_get(NAME), lf._resources.prompt_cache.clear, colds),
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_registry(Path(tmp))
        try:
            real = Client(url)
            real.get_prompt(NAME)
            real_cold = median_cold(lambda: real.get_prompt(NAME), real._labels.clear, colds)
            real.close()
        finally:
            server.stop()  # type: ignore[attr-defined]
    rows.append(("import (over bare python)", *imported))
    ours.close()
    lf.shutdown()

    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cpus\n")
    print(f"{'':32} {'promptrail':>12} {'langfuse':>12} {'ratio':>8}")
    for label, mine, theirs in rows:
        print(f"{label:32} {_fmt(mine):>12} {_fmt(theirs):>12} {theirs / mine:>7.1f}x")
    print(f"{'cold fetch, promptrail serve':32} {_fmt(real_cold):>12}")
    hit, compile_row, imp = rows[0], rows[1], rows[3]
    print()
    print(f"goal cache hit >= 10x: {'met' if hit[2] / hit[1] >= 10 else 'MISSED'}")
    print(f"goal compile   >=  2x: {'met' if compile_row[2] / compile_row[1] >= 2 else 'MISSED'}")
    print(f"goal import    < 50 ms: {'met' if imp[1] < 0.050 else 'MISSED'}")


def _fmt(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
