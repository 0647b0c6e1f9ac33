"""`promptrail eval --base` on a pull request that changes 10 prompts of 200 items each.

    PYTHONPATH=src .venv/bin/python bench/eval_pr.py [--prompts 10] [--items 200]
        [--latency 0.05] [--concurrency 32] [--repeat 3]

The base runs are already in the registry (a real `promptrail serve` on SQLite, filled by
a first, unmeasured pass), so each measured pass reuses them and calls the local
OpenAI-compatible server (its own process, answering after `--latency` seconds: its CPU
is not promptrail's) for the heads only, with an empty response cache. The floor is
prompts x items x latency / concurrency; the goal is a wall time dominated by it.
Passes alternate between one TLS context shared by every endpoint (what `eval` does)
and one built per endpoint (what it did before), to show what that sharing saves.
Separately, the statistics (paired bootstrap, changed items with word diffs, gate) for
all prompts are timed on the same runs: goal under 1 s. Reports median and minimum per
mode, and the machine's load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # serverproc: start/stop `promptrail serve`

from promptrail.api.client import RegistryClient  # noqa: E402
from promptrail.eval import llm, prgate  # noqa: E402
from promptrail.eval.paired import changed_items, compare_runs  # noqa: E402
from promptrail.eval.pr import PrOptions, evaluate  # noqa: E402
from promptrail.eval.setup import EvalOptions  # noqa: E402
from promptrail.repo.repository import PromptRepo  # noqa: E402
from serverproc import ServerProcess  # noqa: E402
from waiting import wait_until  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=os.environ)


def prompt_text(n: int, version: int, wording: str) -> str:
    return (
        f"version: {version}\n"
        "type: chat\n"
        "messages:\n"
        "  - role: user\n"
        f'    content: "{wording} {{{{city}}}} (prompt {n})"\n'
        "config: {model: gpt-4o-mini, temperature: 0}\n"
        "evals:\n"
        "  - dataset: cities\n"
        "    evaluators:\n"
        "      - {type: exact, name: exact}\n"
        "      - {type: contains, value: city, name: mentions_city, ignore_case: true}\n"
        '      - {type: regex, pattern: "^[A-Z]", name: capitalised}\n'
    )


def build_repo(root: Path, prompts: int, items: int) -> None:
    git(root, "init", "-q", "-b", "main")
    lines = ["description: Cities.", "items:"]
    for i in range(items):
        lines += [f"  - id: i{i:04d}", f"    input: {{city: City{i}}}", f"    expected: City{i}"]
    (root / "datasets").mkdir()
    (root / "datasets/cities.yaml").write_text("\n".join(lines) + "\n")
    (root / "prompts").mkdir()
    for n in range(prompts):
        (root / f"prompts/p{n:02d}.yaml").write_text(prompt_text(n, 1, "Describe the city"))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")


def change_heads(root: Path, prompts: int, generation: int) -> None:
    """New head content each pass, so every head call is a real call."""
    for n in range(prompts):
        wording = f"Tell me about the city, take {generation}:"
        (root / f"prompts/p{n:02d}.yaml").write_text(prompt_text(n, 2, wording))


@contextlib.contextmanager
def fake_openai(latency: float) -> Iterator[str]:
    """The local OpenAI-compatible server in a process of its own; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "promptrail.testing.fake_openai", "--port", str(port)]
    fake = subprocess.Popen([*command, "--latency", str(latency)], stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: _listening(port), within=30)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        fake.terminate()
        fake.wait(10)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


MODES = {
    "shared TLS context": llm.tls_context,
    "TLS context per endpoint": llm.tls_context.__wrapped__,  # type: ignore[attr-defined]
}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=10)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(GIT_ENV)
    floor = args.prompts * args.items * args.latency / args.concurrency
    with tempfile.TemporaryDirectory() as tmp, fake_openai(args.latency) as fake_url:
        root = Path(tmp) / "repo"
        root.mkdir()
        build_repo(root, args.prompts, args.items)
        cache = Path(tmp) / "cache.sqlite"
        with (
            ServerProcess(f"sqlite:///{tmp}/registry.db") as server,
            RegistryClient(server.url) as registry,
        ):
            options = PrOptions(
                base="main",
                run=EvalOptions(
                    prompt="",
                    base_url=fake_url,
                    api_key="sk-bench",
                    concurrency=args.concurrency,
                    cache_path=str(cache),
                    show_progress=False,
                ),
                ui_url=server.url,
            )
            change_heads(root, args.prompts, 0)
            evaluate(PromptRepo(root), options, registry)  # records the base runs
            walls: dict[str, list[float]] = {mode: [] for mode in MODES}
            head_calls, reports = [], []
            for generation in range(1, 2 * args.repeat + 1):
                mode = list(MODES)[generation % 2]
                llm.tls_context = MODES[mode]  # type: ignore[assignment]
                cache.unlink(missing_ok=True)
                change_heads(root, args.prompts, generation)
                started = time.perf_counter()
                report = evaluate(PromptRepo(root), options, registry)
                walls[mode].append(time.perf_counter() - started)
                head_calls.append(report["llm_calls"])
                reports.append(report)
                assert all(entry["base"]["reused"] for entry in report["prompts"])
            llm.tls_context = MODES["shared TLS context"]  # type: ignore[assignment]
            runs = [
                (registry.get_run(e["base"]["run_id"]), registry.get_run(e["head"]["run_id"]))
                for e in reports[-1]["prompts"]
            ]
    stats_times = []
    for _ in range(5):
        started = time.perf_counter()
        for base, head in runs:
            comparison = compare_runs(base, head)
            changed_items(base, head)
            prgate.check({}, head, comparison)
        stats_times.append(time.perf_counter() - started)
    print(f"command: PYTHONPATH=src python bench/eval_pr.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"load: {load()}")
    print(
        f"{args.prompts} prompts x {args.items} items, latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency}: floor {floor:.2f} s of head calls"
    )
    for mode, times in walls.items():
        print(
            f"eval --base, base runs reused, {mode}: median {statistics.median(times):.2f} s, "
            f"min {min(times):.2f} s over {len(times)} passes "
            f"({head_calls[0]} LLM calls per pass; median / floor = "
            f"{statistics.median(times) / floor:.2f}x)"
        )
    median_ms, min_ms = statistics.median(stats_times) * 1000, min(stats_times) * 1000
    print(
        f"statistics for all {len(runs)} prompts: median {median_ms:.0f} ms, "
        f"min {min_ms:.0f} ms (goal < 1000 ms)"
    )


if __name__ == "__main__":
    main()
