"""What `import promptrail` exposes and what it costs."""

from __future__ import annotations

import json
import subprocess
import sys

import promptrail

HEAVY = (
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "starlette",
    "pydantic",
    "jinja2",
    "httpx",
    "git",
    "yaml",
    "ruamel",
    "deepdiff",
    "typer",
)


def test_public_names_are_pinned() -> None:
    assert promptrail.__all__ == [
        "AsyncClient",
        "ChatPrompt",
        "Client",
        "Conflict",
        "MissingVariable",
        "PromptFileError",
        "PromptNotFound",
        "PromptrailError",
        "RegistryError",
        "RegistryUnavailable",
        "TemplateError",
        "TextPrompt",
        "Tracer",
        "__version__",
        "configure",
        "event",
        "flush",
        "get_current_observation_id",
        "get_current_trace_id",
        "observe",
        "score",
        "start_generation",
        "start_span",
        "update_current_observation",
        "update_current_trace",
    ]
    from promptrail.client import AsyncClient, ChatPrompt, Client, TextPrompt

    assert promptrail.Client is Client
    assert promptrail.AsyncClient is AsyncClient
    assert (promptrail.TextPrompt, promptrail.ChatPrompt) == (TextPrompt, ChatPrompt)


def _modules_after(code: str) -> list[str]:
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def _heavy(modules: list[str]) -> list[str]:
    # `git` is GitPython; the rest are the server's stack, the CLI's and the network client.
    return [m for m in modules if m.split(".")[0] in HEAVY]


def test_the_client_does_not_pull_in_the_server_or_httpx_before_a_fetch(tmp_path) -> None:
    (tmp_path / "prompts").mkdir()
    snapshot = tmp_path / "s.json"
    snapshot.write_text(
        '{"format": "promptrail-snapshot/1", "prompts": {"p": {"labels": {"production": 1}, '
        '"versions": {"1": {"name": "p", "version": 1, "type": "text", "prompt": "Hi {{n}}", '
        '"hash": "h"}}}}}'
    )
    modules = _modules_after(
        "import promptrail\n"
        f"client = promptrail.Client(snapshot={str(snapshot)!r})\n"
        "assert client.get_prompt('p').compile(n='x') == 'Hi x'\n"
        "assert client.get_prompt('q', fallback='f').source == 'fallback'"
    )
    assert _heavy(modules) == []
    assert "asyncio" not in modules  # only AsyncClient users pay for it
    # A fetch over plain HTTP needs only the standard library (a fast first fetch) ...
    modules = _modules_after(
        "import promptrail\n"
        "client = promptrail.Client('http://127.0.0.1:9', timeout=0.2, max_retries=0)\n"
        "assert client.get_prompt('p', fallback='f').source == 'fallback'"
    )
    assert _heavy(modules) == []
    # ... and one over HTTPS brings httpx in, and still nothing of the server.
    modules = _modules_after(
        "import promptrail\n"
        "client = promptrail.Client('https://127.0.0.1:9', timeout=0.2, max_retries=0)\n"
        "assert client.get_prompt('p', fallback='f').source == 'fallback'"
    )
    assert {m.split(".")[0] for m in _heavy(modules)} == {"httpx"}


def test_the_async_client_mirrors_the_sync_one() -> None:
    import inspect

    from promptrail.client import AsyncClient, Client

    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert public(Client) - {"close"} == public(AsyncClient) - {"aclose"}
    for method in ("get_prompt", "preload"):
        sync, coro = getattr(Client, method), getattr(AsyncClient, method)
        assert inspect.signature(sync) == inspect.signature(coro)
        assert inspect.iscoroutinefunction(coro)
    assert inspect.signature(Client) == inspect.signature(AsyncClient)
