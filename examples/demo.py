"""`make demo`: the whole loop on this machine, in one command.

Starts a registry on SQLite (`.promptrail/demo.db`), publishes `prompts/` the way CI
would, runs `examples/customer_support.py` against a local fake LLM with tracing on,
shows `promptrail get customer-email`, evaluates `support/triage` over
`datasets/triage.yaml` (the run is stored in the registry), and prints where to look.
On a terminal the
registry keeps running until Ctrl-C; elsewhere (CI, a pipe) it stops when the demo ends.
Running it again reuses the database: the second publish has nothing to do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".promptrail"
PROMPTRAIL = [sys.executable, "-m", "promptrail.cli.main"]


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def promptrail(title: str, *args: str, registry: str | None = None) -> None:
    print(f"\n$ promptrail {' '.join(args)}    # {title}", flush=True)
    env = {**os.environ, **({"PROMPTRAIL_URL": registry} if registry else {})}
    subprocess.run([*PROMPTRAIL, *args], cwd=ROOT, check=True, env=env)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def registry(port: int) -> Iterator[str]:
    """`promptrail serve` in a child process, stopped however the demo ends."""
    STATE.mkdir(exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    log = STATE / "demo-server.log"
    db = f"sqlite:///{STATE / 'demo.db'}"
    print(f"starting the registry on {url} (database {db}, log {log.relative_to(ROOT)})")
    with open(log, "ab") as log_file:
        server = subprocess.Popen(
            [*PROMPTRAIL, "serve", "--port", str(port), "--db", db, "--no-auth"],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops the server itself
        )
        try:
            wait_until_healthy(url, server)
            yield url
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            print("registry stopped")


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = ".promptrail/demo-server.log"
            sys.exit(f"the registry exited with {server.returncode}; see {log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    sys.exit(f"the registry did not answer on {url} within {timeout:.0f} s")


def main() -> int:
    port = int(os.environ.get("PROMPTRAIL_DEMO_PORT", "8700"))
    if port_in_use(port):
        print(
            f"port {port} is taken (another `make demo` still running?). "
            "Stop it, or run: PROMPTRAIL_DEMO_PORT=8701 make demo",
            file=sys.stderr,
        )
        return 2

    sys.path.insert(0, str(ROOT / "examples"))
    import customer_support

    from promptrail.testing.fake_openai import FakeOpenAI

    llm_port = int(os.environ.get("PROMPTRAIL_DEMO_LLM_PORT", "0"))  # 0: any free port
    with registry(port) as url, FakeOpenAI(port=llm_port) as llm:
        heading("Review: the checks a pull request runs")
        promptrail("schema, templates, labels, versions", "validate")
        promptrail("what the last commit changed", "diff", "HEAD~1", "HEAD")

        heading("Publish: what CI does on the main branch")
        promptrail("what a publish would do", "plan", registry=url)
        promptrail("apply it in one transaction", "publish", registry=url)
        promptrail("the registry now matches git", "plan", "--check", registry=url)

        heading("Run: an app fetches its prompts and traces each LLM call")
        print(f"$ python examples/customer_support.py --registry {url} --llm {llm.url}")
        result = customer_support.run(url, llm.url)
        cost = "unknown" if result.cost is None else f"${result.cost:.6f}"
        print(f"queue: {result.queue}\nreply: {result.reply}\ntrace: {result.trace_id}")
        print(f"cost:  {cost}")
        promptrail("what production serves", "get", "customer-email", registry=url)

        heading("Evaluate: the triage prompt over its dataset, checked by its gate")
        os.environ["OPENAI_BASE_URL"] = llm.url
        os.environ.setdefault("OPENAI_API_KEY", "sk-demo")
        promptrail(
            "datasets/triage.yaml, scored by the evals: in the prompt file",
            "eval",
            "support/triage",
            "--cache",
            str(STATE / "demo-eval-cache.sqlite"),
            registry=url,
        )

        heading("Look")
        print(f"web UI:      {url}/")
        print(f"this trace:  {url}/traces/{result.trace_id}")
        print(f"prompts:     {url}/prompts")
        print(f"eval runs:   {url}/api/v1/runs?prompt=support/triage")
        print(f"API docs:    {url}/docs   (OpenAPI at {url}/openapi.json)")
        if sys.stdin.isatty():
            print("\nThe registry keeps running; press Ctrl-C to stop it.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
