"""`promptrail eval`'s runner: 1,000 items against a local OpenAI-compatible server.

    .venv/bin/python bench/eval.py [--items 1000] [--latency 0.05] [--concurrency 32] [--repeat 5]

The server (promptrail's fake OpenAI, in its own process so its CPU is not counted)
answers each request after `--latency` seconds. Each round runs the whole eval through
the real `openai` package with a fresh cache (every item a call), then again from the
cache (no call). Reported: wall time of the run (the bound is items x latency /
concurrency), the CPU per item of this process over the run (the openai package and its
HTTP stack, the tracer, rendering, scoring and the cache), and the cached rerun with its
CPU per item (everything but the HTTP calls: the runner's own share).
Goals: run <= 2x the bound, < 1 ms CPU per item, cached rerun < 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

PROMPT = """
version: 1
type: chat
messages:
  - role: system
    content: Answer with the capital city only.
  - role: user
    content: "What is the capital of {{country}}?"
config: {model: gpt-4o-mini, temperature: 0}
evals:
  - dataset: bench
    evaluators:
      - {type: contains, value: capital, name: echoes}
      - {type: regex, pattern: "capital of", name: asks}
      - {type: length, max: 500, name: short}
"""


def make_repo(folder: Path, items: int) -> None:
    (folder / "prompts").mkdir()
    (folder / "datasets").mkdir()
    (folder / "prompts" / "bench.yaml").write_text(PROMPT.lstrip())
    lines = [f'{{"id": "c{i}", "input": {{"country": "Country {i}"}}}}' for i in range(items)]
    (folder / "datasets" / "bench.jsonl").write_text("\n".join(lines) + "\n")


def start_server(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port = 8790 + os.getpid() % 100
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "promptrail.testing.fake_openai",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            httpx.get(f"{url}/models", timeout=0.5)
            return server, url
        except httpx.HTTPError:
            time.sleep(0.05)
    server.kill()
    sys.exit("the fake OpenAI server did not start")


def one_run(folder: Path, url: str, cache: Path, concurrency: int) -> tuple[float, float, int]:
    from promptrail.eval.runner import run
    from promptrail.eval.setup import EvalOptions, prepare
    from promptrail.repo.repository import PromptRepo

    options = EvalOptions(
        prompt="bench",
        dataset="bench",
        base_url=url,
        api_key="sk-bench",
        concurrency=concurrency,
        cache_path=str(cache),
        show_progress=False,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    result = run(prepare(PromptRepo(folder), options))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.stats.errors == 0, [i.error for i in result.items if i.error][:3]
    return wall, cpu, result.stats.llm_calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["PROMPTRAIL_TRACING"] = os.environ.get("PROMPTRAIL_TRACING", "true")
    bound = args.items * args.latency / args.concurrency
    server, url = start_server(args.latency)
    fresh, cpu_per_item, cached, cached_cpu = [], [], [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            make_repo(folder, args.items)
            one_run(folder, url, folder / "warm.sqlite", args.concurrency)  # imports, pools
            for round_ in range(args.repeat):
                cache = folder / f"cache-{round_}.sqlite"
                wall, cpu, calls = one_run(folder, url, cache, args.concurrency)
                assert calls == args.items
                again, again_cpu, calls = one_run(folder, url, cache, args.concurrency)
                assert calls == 0
                fresh.append(wall)
                cpu_per_item.append(cpu / args.items * 1000)
                cached.append(again)
                cached_cpu.append(again_cpu / args.items * 1000)
    finally:
        server.terminate()
        server.wait(timeout=10)
    load = os.getloadavg()[0]
    print(
        f"{args.items} items, {args.latency * 1000:.0f} ms per answer, concurrency "
        f"{args.concurrency}, {args.repeat} rounds, load {load:.1f} on {os.cpu_count()} cores"
    )
    print(f"bound                {bound:.2f} s (goal <= {2 * bound:.2f} s)")
    for label, values, unit in (
        ("run (every call)", fresh, "s"),
        ("runner CPU per item", cpu_per_item, "ms"),
        ("rerun from cache", cached, "s"),
        ("  its CPU per item", cached_cpu, "ms"),
    ):
        print(
            f"{label:<20} median {statistics.median(values):.3f} {unit}, "
            f"min {min(values):.3f} {unit}"
        )


if __name__ == "__main__":
    main()
