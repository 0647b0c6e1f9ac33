"""The runtime client against the Langfuse Python SDK, in one run on this machine.

    .venv/bin/pip install -e '.[bench]'     # the Langfuse SDK is a bench-only extra
    .venv/bin/python bench/client.py [--quick]

Times a cached get_prompt, a cold fetch (cache cleared, connection warm), compile() of a
three-variable text prompt and of a two-message chat prompt, for both clients, through
the same calling code, plus the cost over a bare interpreter of importing each package
and of a fresh process's first prompt (import, client, one get_prompt over loopback).
Cold and first fetches go to one tiny local HTTP server that speaks both APIs (so the
server's share is the same for both), and, for promptrail, also to a real
`promptrail serve` process. Goals: cache hit >= 10x and chat compile >= 2x faster than
Langfuse's, `import promptrail` (client) < 50 ms and the first prompt <= 30 ms over a
bare interpreter. Medians beside minimums.
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
CHAT_NAME = "support-triage"
CHAT = [
    {"role": "system", "content": "You triage support tickets for {{product}}."},
    {"role": "user", "content": "{{ticket}} (from {{customer_name}})"},
]
CHAT_VARS = {"product": "Acme", "ticket": "My refund is late", "customer_name": "Ann"}


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
        elif path == f"/api/v1/prompts/{CHAT_NAME}":
            from promptrail.content import content_hash, content_of

            body = {
                "name": CHAT_NAME,
                "version": 1,
                "type": "chat",
                "messages": CHAT,
                "config": {},
                "labels": ["production"],
                "tags": [],
                "hash": content_hash(content_of("chat", None, CHAT, {})),
            }
        elif path == f"/api/public/v2/prompts/{CHAT_NAME}":
            body = {
                "type": "chat",
                "name": CHAT_NAME,
                "version": 1,
                "prompt": [{"type": "chatmessage", **m} for m in CHAT],
                "config": {},
                "labels": ["production"],
                "tags": [],
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


def median_cold(fetch: Callable[[], Any], clear: Callable[[], None], n: int) -> tuple[float, float]:
    """(median, minimum) seconds of a fetch with the cache cleared first."""
    times = []
    for _ in range(n):
        clear()
        started = time.perf_counter()
        fetch()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def import_costs(codes: list[str], n: int) -> list[tuple[float, float]]:
    """(median, minimum) wall time of `python -c code` for each code, minus a bare
    interpreter's (median minus median, minimum minus minimum).

    Rounds alternate the commands, so a busy spell weighs on all of them alike.
    """
    runs: dict[str, list[float]] = {code: [] for code in ["pass", *codes]}
    for _ in range(n):
        for code, times in runs.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=_clean_env())
            times.append(time.perf_counter() - started)
    bare = runs["pass"]
    return [
        (statistics.median(runs[c]) - statistics.median(bare), min(runs[c]) - min(bare))
        for c in codes
    ]


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
    try:
        from langfuse import Langfuse
    except ImportError:
        sys.exit("the Langfuse SDK is missing: .venv/bin/pip install -e '.[bench]'")
    both = ThreadingHTTPServer(("127.0.0.1", 0), _Both)
    threading.Thread(target=both.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{both.server_address[1]}"

    # Fresh processes first, before this one starts threads that compete for the CPU.
    first_ours = f"import promptrail; promptrail.Client({local!r}).get_prompt({NAME!r})"
    first_lf = (
        "from langfuse import Langfuse; Langfuse(public_key='pk-lf-b', secret_key='sk-lf-b', "
        f"host={local!r}, tracing_enabled=False).get_prompt({NAME!r})"
    )
    imported = import_costs(
        ["import promptrail; promptrail.Client", "import langfuse", first_ours, first_lf],
        imports,
    )
    from promptrail import Client

    ours = Client(local)
    lf = Langfuse(
        public_key="pk-lf-bench", secret_key="sk-lf-bench", host=local, tracing_enabled=False
    )
    our_prompt = ours.get_prompt(NAME)
    lf_prompt = lf.get_prompt(NAME)
    assert our_prompt.compile(**VARS) == lf_prompt.compile(**VARS)
    our_chat, lf_chat = ours.get_prompt(CHAT_NAME), lf.get_prompt(CHAT_NAME)
    assert our_chat.compile(**CHAT_VARS) == [
        {"role": m["role"], "content": m["content"]} for m in lf_chat.compile(**CHAT_VARS)
    ]

    Row = tuple[str, float, float, float, float]  # label, ours median/min, theirs median/min
    rows: list[Row] = []
    scope = {"get": ours.get_prompt, "lf_get": lf.get_prompt, "NAME": NAME, "VARS": VARS}
    scope.update(ours_p=our_prompt, lf_p=lf_prompt, CV=CHAT_VARS)
    scope.update(ours_c=our_chat, lf_c=lf_chat)
    cases = [
        ("cached get_prompt", "get(NAME)", "lf_get(NAME)", hits),
        ("text compile (3 variables)", "ours_p.compile(**VARS)", "lf_p.compile(**VARS)", hits // 2),
        ("chat compile (2 messages)", "ours_c.compile(**CV)", "lf_c.compile(**CV)", hits // 2),
    ]
    # Interleaved, so that load on the machine weighs on both alike.
    measured: dict[str, tuple[list[float], list[float]]] = {c[0]: ([], []) for c in cases}
    for _ in range(3 if args.quick else 7):
        for label, mine, theirs, number in cases:
            measured[label][0].append(best_per_call(mine, scope, number))
            measured[label][1].append(best_per_call(theirs, scope, number // 10))
    for label, (mine, theirs) in measured.items():
        rows.append(
            (label, statistics.median(mine), min(mine), statistics.median(theirs), min(theirs))
        )
    get, lf_get = ours.get_prompt, lf.get_prompt
    cold_ours = median_cold(lambda: get(NAME), ours._labels.clear, colds)
    cold_lf = median_cold(lambda: lf_get(NAME), lf._resources.prompt_cache.clear, colds)
    rows.append(("cold fetch, same tiny server", *cold_ours, *cold_lf))
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_registry(Path(tmp))
        try:
            real = Client(url)
            real.get_prompt(NAME)
            real_cold = median_cold(lambda: real.get_prompt(NAME), real._labels.clear, colds)
            real.close()
        finally:
            server.stop()  # type: ignore[attr-defined]
    rows.append(("import (over bare python)", *imported[0], *imported[1]))
    rows.append(("fresh process: import, Client(),", *imported[2], *imported[3]))
    ours.close()
    lf.shutdown()

    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cpus; median / min\n")
    print(f"{'':34} {'promptrail':>21} {'langfuse':>21} {'ratio':>7}")
    for label, mine, mine_min, theirs, theirs_min in rows:
        print(
            f"{label:34} {_fmt(mine):>10} {_fmt(mine_min):>10} {_fmt(theirs):>10} "
            f"{_fmt(theirs_min):>10} {theirs / mine:>6.1f}x"
        )
        if label.startswith("fresh process"):
            print(f"{'  first get_prompt (over bare python)':34}")
    print(f"{'cold fetch, promptrail serve':34} {_fmt(real_cold[0]):>10} {_fmt(real_cold[1]):>10}")
    by = {row[0]: row for row in rows}
    print()
    checks = [
        ("cache hit >= 10x", by["cached get_prompt"][3] / by["cached get_prompt"][1] >= 10),
        (
            "chat compile >= 2x",
            by["chat compile (2 messages)"][3] / by["chat compile (2 messages)"][1] >= 2,
        ),
        ("import < 50 ms", by["import (over bare python)"][1] < 0.050),
        ("first fetch <= 30 ms", by["fresh process: import, Client(),"][1] <= 0.030),
    ]
    for goal, met in checks:
        print(f"goal {goal:<22} (medians): {'met' if met else 'MISSED'}")


def _fmt(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
