"""Publishing as CI does it: `promptrail publish` in a fresh process against a real server.

    .venv/bin/python bench/publish_cli.py [--small 1000] [--large 10000] [--db URL]

Times a first publish of `--small` prompts into an empty registry, a first publish of
`--large`, then a no-op publish of `--large` (the registry already matches: one state
request, every file parsed and hashed, no git history read, nothing sent), and splits
the no-op into its steps in-process. Uses bench/gen_repo.py for realistic files and
tests/serverproc.py for the server (SQLite unless --db/--db-large name PostgreSQL ones).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from gen_repo import generate  # noqa: E402
from serverproc import ServerProcess  # noqa: E402


def cli_publish(repo: Path, url: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "promptrail.cli.main", "publish", "--registry", url],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"publish failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def steps(repo: Path, url: str) -> dict[str, float]:
    from promptrail.api.client import RegistryClient
    from promptrail.gitops.publish import plan_repo
    from promptrail.repo.repository import PromptRepo

    times: dict[str, float] = {}
    started = time.perf_counter()
    with RegistryClient(url) as client:
        state = client.state()
    times["state request"] = time.perf_counter() - started
    started = time.perf_counter()
    plan = plan_repo(PromptRepo(repo), state)
    times["load + plan"] = time.perf_counter() - started
    assert plan.empty, plan.render_text()[-500:]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--db", help="empty database for the small repository (default SQLite)")
    parser.add_argument("--db-large", help="another empty database for the large one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp, "small"), Path(tmp, "large")
        generate(small, args.small, 1)
        generate(large, args.large, 1)
        db = args.db or f"sqlite:///{Path(tmp, 'small.db')}"
        with ServerProcess(db) as server:
            print(f"first publish of {args.small} prompts: {cli_publish(small, server.url):.2f} s")
        db = args.db_large or f"sqlite:///{Path(tmp, 'large.db')}"
        with ServerProcess(db) as server:
            print(f"first publish of {args.large} prompts: {cli_publish(large, server.url):.2f} s")
            runs = [cli_publish(large, server.url) for _ in range(3)]
            print(
                f"no-op publish of {args.large} prompts: median {statistics.median(runs):.2f} s "
                f"of {', '.join(f'{r:.2f}' for r in runs)} (a fresh process each)"
            )
            for step, seconds in steps(large, server.url).items():
                print(f"  {step}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
