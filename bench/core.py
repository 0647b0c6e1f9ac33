"""Time `validate` and `diff` on a generated repository of many prompts.

    .venv/bin/python bench/core.py [--prompts 10000 --changed 100 --repeat 3]

Builds the repository in a temp folder (bench/gen_repo.py), then times each command as a
subprocess (what a pre-commit hook or CI pays, interpreter start-up included) and
in-process with the parse caches emptied before each run (cold). Best of --repeat runs.
Goals: validate of 10,000 files < 3 s; diff of two refs, 100 changed among 10,000, < 2 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_repo import generate

GOALS = {"validate": 3.0, "diff HEAD~1 HEAD": 2.0, "diff HEAD~1 (working tree)": 2.0}


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(root: Path, *args: str, cpu: list[float] | None = None) -> Callable[[], object]:
    """A run of the command; its CPU time (user + system) is appended to `cpu`: unlike
    wall time, it barely moves when other processes load the machine."""

    def run() -> None:
        before = child_cpu()
        proc = subprocess.run(
            [sys.executable, "-m", "promptrail.cli.main", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"promptrail {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
        if cpu is not None:
            cpu.append(child_cpu() - before)

    return run


def in_process(root: Path, what: str) -> Callable[[], object]:
    from promptrail import template
    from promptrail.gitops.diff import diff_refs
    from promptrail.gitops.validate import is_error, validate
    from promptrail.repo import promptfile
    from promptrail.repo.repository import PromptRepo

    def run() -> None:
        promptfile._parsed.clear()  # cold: nothing parsed yet
        template.compile_template.cache_clear()
        repo = PromptRepo(root)
        if what == "validate":
            errors = [p for p in validate(repo) if is_error(p)]
            assert not errors, errors[:3]
        elif what == "diff HEAD~1 HEAD":
            assert diff_refs(repo, "HEAD~1", "HEAD").prompts
        else:
            assert diff_refs(repo, "HEAD~1").prompts

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--history-rounds",
        type=int,
        default=0,
        help="Commits before the last one that each give 30%% of the prompts a new version.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="promptrail-bench-") as tmp:
        root = Path(tmp) / "repo"
        start = time.perf_counter()
        generate(root, args.prompts, args.changed, history_rounds=args.history_rounds)
        took = time.perf_counter() - start
        print(
            f"generated {args.prompts} prompts, {args.history_rounds} history rounds, "
            f"{args.changed} changed in the last commit, in {took:.1f} s\n"
        )
        commands = {
            "validate": ("validate",),
            "diff HEAD~1 HEAD": ("diff", "HEAD~1", "HEAD"),
            "diff HEAD~1 (working tree)": ("diff", "HEAD~1"),
        }
        rows = []
        for what, cli_args in commands.items():
            cpu: list[float] = []
            sub = best_of(args.repeat, cli(root, *cli_args, cpu=cpu))
            inner = best_of(args.repeat, in_process(root, what))
            goal = GOALS[what] if args.prompts == 10_000 and not args.history_rounds else None
            verdict = "" if goal is None else ("ok" if sub < goal else "SLOW")
            rows.append((what, sub, min(cpu), inner, goal, verdict))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{'command':<28} {'subprocess':>11} {'(cpu)':>9} {'in-process':>11} {'goal':>6}")
    for what, sub, cpu_time, inner, goal, verdict in rows:
        goal_text = f"{goal:.1f} s" if goal else "-"
        print(
            f"{what:<28} {sub:>9.2f} s {cpu_time:>7.2f} s {inner:>9.2f} s {goal_text:>6}  {verdict}"
        )
    print(f"\nbest of {args.repeat}; load average {load:.1f} on {os.cpu_count()} CPUs")
    if any(row[5] == "SLOW" for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
