"""Run every benchmark and write one report: `make bench` (or `--quick` for a smoke run).

    .venv/bin/python bench/run.py [--quick] [--only NAME ...] [--out bench/out/report.md]
                                  [--postgres URL]

Each benchmark runs in a process of its own, one after the other (never side by side:
they would measure each other), with its exact command and the machine's load average
before and after written beside its output, so a reader can rerun any one of them and
judge how busy the machine was. A benchmark that fails is reported as failed and the
others still run; the exit status is 1 if any failed. PostgreSQL parts run when a server
answers at PROMPTRAIL_TEST_POSTGRES_URL (or --postgres).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def benches(quick: bool, postgres: str | None) -> list[tuple[str, list[str]]]:
    """(name, arguments after `python`) for each benchmark, in the order they run."""
    q = ["--quick"] if quick else []
    pg_ingest = [] if postgres else ["--skip-postgres"]
    ui_sqlite = ["--traces", "2000", "--observations", "20000", "--repeat", "3"] if quick else []
    return [
        ("client", ["bench/client.py", *q]),
        ("tracing", ["bench/tracing.py", *q, *pg_ingest]),
        ("export", ["bench/export.py", *q, *(["--postgres"] if postgres else [])]),
        ("registry_get", ["bench/registry_get.py", *q]),
        (
            "core",
            [
                "bench/core.py",
                *(["--prompts", "1000", "--changed", "20", "--repeat", "1"] if quick else []),
            ],
        ),
        (
            "publish_cli",
            ["bench/publish_cli.py", *(["--small", "100", "--large", "500"] if quick else [])],
        ),
        (
            "ui",
            [
                "bench/ui.py",
                "--fresh",
                "--cold",
                "--db",
                f"sqlite:///{ROOT / 'bench' / 'out' / ('ui-quick.db' if quick else 'ui.db')}",
                *ui_sqlite,
            ],
        ),
    ]


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cpus"


def postgres_url(given: str | None) -> str | None:
    url = given or os.environ.get("PROMPTRAIL_TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2):
            return url
    except Exception:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (by name)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "report.md")
    parser.add_argument("--postgres", help="PostgreSQL server URL for the parts that use one")
    args = parser.parse_args()

    pg = postgres_url(args.postgres)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if pg:
        env["PROMPTRAIL_TEST_POSTGRES_URL"] = pg
    selected = [b for b in benches(args.quick, pg) if not args.only or b[0] in args.only]
    unknown = set(args.only or ()) - {name for name, _ in benches(args.quick, pg)}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# promptrail benchmarks",
        "",
        f"- when: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {commit or '?'}",
        f"- machine: {platform.platform()}, python {platform.python_version()}",
        f"- size: {'--quick (a smoke run: small sizes, rough numbers)' if args.quick else 'full'}",
        f"- PostgreSQL: {'yes' if pg else 'not reachable: its parts skipped'}",
        "",
    ]
    failed = []
    for number, (name, command) in enumerate(selected, 1):
        shown = " ".join([".venv/bin/python", *command])
        print(f"[{number}/{len(selected)}] {name}: {shown}", flush=True)
        before = load()
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        if result.returncode:
            failed.append(name)
        print(f"    {status} in {seconds:.0f} s", flush=True)
        output = result.stdout.strip()
        if result.returncode:
            output += "\n--- stderr ---\n" + result.stderr.strip()[-4000:]
        lines += [
            f"## {name}",
            "",
            f"- command: `{shown}`",
            f"- load before: {before}; after: {load()}",
            f"- {status}, {seconds:.0f} s",
            "",
            "```",
            output,
            "```",
            "",
        ]
        args.out.write_text("\n".join(lines))  # written as it goes: a long run shows progress
    print(f"report: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
