"""`make demo`: the main job in one command (grows as the registry and tracer land)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPTRAIL = [sys.executable, "-m", "promptrail.cli.main"]


def step(title: str, *args: str) -> None:
    print(f"\n$ promptrail {' '.join(args)}    # {title}", flush=True)
    subprocess.run([*PROMPTRAIL, *args], cwd=ROOT, check=True)


def main() -> None:
    step(
        "compile a prompt locally",
        "render",
        "customer-email",
        "--var",
        "tone=friendly",
        "--var",
        "customer_name=Ada",
        "--var",
        "topic=your refund",
    )


if __name__ == "__main__":
    main()
