"""The prompt page's "Quality in production" in a real browser: the version on production
against a canary serving scored traffic, with the verdict, from a real server process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from events import post, scored_generations
from kit import publish_text
from promptrail.api.client import RegistryClient
from serverproc import ServerProcess

from .conftest import shoot

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser

NAME = "support/reply"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("ui-quality")
    with ServerProcess(
        f"sqlite:///{folder / 'registry.db'}", log_path=folder / "server.log"
    ) as server:
        with RegistryClient(server.url) as client:
            publish_text(client, NAME, 1, "v1", {"production": None})
            publish_text(client, NAME, 2, "v2", {"canary": None})
        tone = [0.0, 1.0] * 10
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for version, helpful in ((1, [0.9, 1.0, 0.8] * 6 + [0.9, 0.9]), (2, [0.3] * 20)):
                events = scored_generations(NAME, version, helpful, tone, ms=400, cost=0.001)
                assert post(http, events).status_code == 200
        yield server.url


def test_quality_in_production_shows_the_regression(page, site: str) -> None:
    page.goto(f"{site}/prompts/{NAME}")
    section = page.locator("#quality")
    expect(section.locator("h2")).to_have_text("Quality in production")
    expect(section).to_contain_text("v1 (production) against v2 (canary, latest)")
    helpful = section.locator("tr[data-score='helpful']")
    expect(helpful.locator(".verdict")).to_have_text("regression")
    expect(helpful.locator(".chip.del")).to_be_visible()
    expect(section.locator("tr[data-score='tone'] .verdict")).to_have_text("no detectable change")
    shoot(page, "prompt-quality")
