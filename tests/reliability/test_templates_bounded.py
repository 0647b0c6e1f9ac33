"""Someone else's template costs bounded time and memory, and fails as a TemplateError."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest

from conftest import GitRepo, run_cli
from kit import publish_text
from promptrail import Client
from promptrail.api.client import RegistryClient
from promptrail.errors import TemplateError
from promptrail.template import compile_text
from serverproc import ServerProcess

NESTED_LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
HUGE_REPEAT = "{{ 'x' * 10**7 }}"
DUPLICATE_ARGUMENT = "{% macro f(a, a) %}{% endmacro %}{{ f(1, 2) }}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("templates")
    with ServerProcess(f"sqlite:///{folder / 'r.db'}", log_path=folder / "log") as proc:
        with RegistryClient(proc.url) as registry:
            publish_text(registry, "evil/loop", 1, NESTED_LOOP, {"production": None})
            publish_text(registry, "evil/repeat", 1, HUGE_REPEAT, {"production": None})
            publish_text(registry, "evil/broken", 1, DUPLICATE_ARGUMENT, {"production": None})
            publish_text(registry, "good/hello", 1, "hello {{who}}", {"production": None})
        yield proc


def test_a_looping_preview_ends_with_an_error_and_never_stalls_prompt_gets(
    server: ServerProcess,
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/api/v1/prompts/good/hello").status_code == 200  # now cached
        result: dict[str, object] = {}

        def preview() -> None:
            started = time.monotonic()
            result["page"] = http.get("/prompts/evil/loop", params={"preview": "1"})
            result["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=preview)
        thread.start()
        time.sleep(0.3)  # the preview is rendering now
        slowest = 0.0
        with httpx.Client(base_url=server.url, timeout=30) as other:
            while thread.is_alive():
                started = time.monotonic()
                assert other.get("/api/v1/prompts/good/hello").status_code == 200
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.05)
        thread.join()
    page = result["page"]
    assert isinstance(page, httpx.Response)
    assert page.status_code == 200
    assert "ran longer than" in page.text
    assert result["seconds"] < 10  # type: ignore[operator]
    assert slowest < 1.0, f"a cached GET waited {slowest:.2f} s behind the preview"


@pytest.mark.parametrize(
    ("name", "says"),
    [("evil/repeat", "would build more than"), ("evil/broken", "duplicate argument")],
)
def test_a_preview_that_cannot_render_says_why(server: ServerProcess, name: str, says: str) -> None:
    page = httpx.get(f"{server.url}/prompts/{name}", params={"preview": "1"}, timeout=30)
    assert page.status_code == 200, page.text[:300]
    assert says in page.text


def test_the_client_raises_a_template_error_naming_the_prompt(server: ServerProcess) -> None:
    with Client(server.url) as client:
        prompt = client.get_prompt("evil/broken")
        with pytest.raises(TemplateError, match="evil/broken"):
            prompt.compile()
        with pytest.raises(TemplateError, match="evil/repeat"):
            client.get_prompt("evil/repeat").compile()


def test_every_template_failure_is_a_template_error() -> None:
    deep = "{{" + "(" * 2000 + "1" + ")" * 2000 + "}}"
    for source in (DUPLICATE_ARGUMENT, deep, "{{ 2 ** 100000 }}", "{{ '%0999999d' % 1 }}"):
        with pytest.raises(TemplateError, match="'p'"):
            compile_text(source, {}, "p")


def test_validate_never_builds_what_a_template_multiplies(git_repo: GitRepo) -> None:
    git_repo.write_prompt(
        "big",
        "version: 1\ntype: chat\nmessages:\n"
        "  - role: user\n    content: \"{{ 'x' * 10**8 }} {{ who }}\"\n",
    )
    git_repo.commit()
    tracemalloc.start()
    try:
        result = run_cli("validate", cwd=git_repo.path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code in (0, 1), result.output
    assert peak < 30_000_000, f"validate allocated {peak / 1e6:.0f} MB"
