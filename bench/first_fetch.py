"""A fresh process's first prompt from a real `promptrail serve`, this tree against a ref.

    PYTHONPATH=src .venv/bin/python bench/first_fetch.py [--against REF] [-n 30]

`--against` defaults to the last commit whose transport was built on `http.client`.

Issue 18's goal: import, `Client()` and the first `get_prompt` over loopback within
30 ms of a bare interpreter's start, `import promptrail` under 50 ms. Both trees are
copies of src/ (compiled before the first round); the other one differs only by the
ref's `client/_plainhttp.py`, so the rounds compare the transports and nothing else.
Each round starts, one after the other and in rotating order, a bare interpreter, an
import of promptrail (this tree) and a first fetch with each tree; each child prints
`time.monotonic()` (one clock for all processes) when it is done, so a time is from just
before the process is spawned to the prompt in hand (or the import done), exit not
included; the whole process's wall time is shown beside it. Median and minimum over
the rounds; then `-X importtime`'s costliest modules for each first fetch.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from client import NAME, ROOT, start_registry

TRANSPORT = "src/promptrail/client/_plainhttp.py"
HTTP_CLIENT_TRANSPORT = "05b897f~1"  # the commit before the bare-socket transport
STAMP = "import time; print(time.monotonic())"


def trees(folder: Path, against: str) -> dict[str, Path]:
    """This tree's src/ and a copy with `against`'s transport, both compiled."""
    made = {}
    for label, ref in (("this tree", None), (against, against)):
        target = folder / label.replace(" ", "-")
        shutil.copytree(ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__"))
        if ref is not None:
            old = subprocess.run(
                ["git", "show", f"{ref}:{TRANSPORT}"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            ).stdout
            (target / "promptrail/client/_plainhttp.py").write_bytes(old)
        compileall.compile_dir(target, quiet=1)
        made[label] = target
    return made


def child_env(path: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTRAIL", "PYTHON"))}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return env


def once(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(spawn -> the child's stamp, spawn -> exit) in seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    ended = time.monotonic()
    return float(done.stdout.split()[-1]) - started, ended - started


def importtime(code: str, env: dict[str, str], top: int) -> list[str]:
    """The `top` modules of `code` with the largest own import time, as text."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, total, name = line.removeprefix("import time:").split("|")
            rows.append((int(own), int(total), name.rstrip()))
    rows.sort(reverse=True)
    total = sum(own for own, _, _ in rows)
    lines = [
        f"    {len(rows)} modules, {total / 1000:.1f} ms in all; costliest (own / with children):"
    ]
    lines += [
        f"    {own / 1000:6.2f} {cum / 1000:7.2f} ms  {name}" for own, cum, name in rows[:top]
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--against", default=HTTP_CLIENT_TRANSPORT, help="the ref whose transport to compare"
    )
    parser.add_argument("-n", type=int, default=30, help="rounds (each starts every process)")
    parser.add_argument("--top", type=int, default=12, help="modules listed from -X importtime")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = trees(folder, args.against)
        server, url = start_registry(folder)
        try:
            fetch = (
                "import promptrail, time\n"
                f"promptrail.Client({url!r}, timeout=5).get_prompt({NAME!r})\n"
                "print(time.monotonic())"
            )
            here = paths["this tree"]
            cases = {
                "bare python (-c pass)": (STAMP, child_env(None)),
                "import promptrail; Client": (
                    f"import promptrail; promptrail.Client; {STAMP}",
                    child_env(here),
                ),
            }
            for label, path in paths.items():
                cases[f"first prompt, {label}"] = (fetch, child_env(path))
            for code, env in cases.values():  # warm: the server's caches, the OS's
                for _ in range(3):
                    once(code, env)
            times: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
            labels = list(cases)
            for round_ in range(args.n):
                shift = round_ % len(labels)  # each case goes first as often as the others
                for label in labels[shift:] + labels[:shift]:
                    times[label].append(once(*cases[label]))
            profiles = {
                label: importtime(*cases[label], args.top)
                for label in cases
                if label.startswith("first")
            }
        finally:
            server.stop()  # type: ignore[attr-defined]

    bare = times["bare python (-c pass)"]
    bare_med = statistics.median(t for t, _ in bare)
    bare_min = min(t for t, _ in bare)
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.n} rounds")
    print(f"registry: promptrail serve on SQLite at {url}; against {args.against}\n")
    print(f"{'ms from spawn':34} {'median':>7} {'min':>7} {'-bare':>7} {'-bare':>7} {'exit':>7}")
    print(f"{'':34} {'':>7} {'':>7} {'(med)':>7} {'(min)':>7} {'(med)':>7}")
    for label, runs in times.items():
        ready = [t for t, _ in runs]
        med, low = statistics.median(ready), min(ready)
        ended = statistics.median(e for _, e in runs)
        print(
            f"{label:34} {med * 1e3:7.1f} {low * 1e3:7.1f} {(med - bare_med) * 1e3:7.1f} "
            f"{(low - bare_min) * 1e3:7.1f} {ended * 1e3:7.1f}"
        )
    for label, lines in profiles.items():
        print(f"\n-X importtime, {label}:")
        print("\n".join(lines))
    ours = statistics.median(t for t, _ in times["first prompt, this tree"]) - bare_med
    imported = statistics.median(t for t, _ in times["import promptrail; Client"]) - bare_med
    print(
        f"\ngoal first prompt <= 30 ms over bare (median): {'met' if ours <= 0.030 else 'MISSED'}"
    )
    print(f"goal import < 50 ms over bare (median): {'met' if imported < 0.050 else 'MISSED'}")


if __name__ == "__main__":
    main()
