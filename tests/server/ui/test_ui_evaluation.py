"""The evaluation pages in a real browser: datasets, runs, and two runs compared.

Data goes in through the real paths: a git repository whose `capital` prompt is made
worse by a branch, published with its dataset, then `promptrail eval --base` against a
local OpenAI-compatible server and the registry, which records both runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from conftest import GIT_ENV, run_cli
from eval_pr.conftest import BAD, CAPITALS, GOOD, dataset_file, prompt_file
from promptrail.testing.fake_openai import FakeOpenAI
from serverproc import ServerProcess

from .conftest import shoot

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser


@dataclass
class Site:
    url: str
    report: dict


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("ui-eval")
    repo = folder / "repo"
    repo.mkdir()
    with (
        ServerProcess(
            f"sqlite:///{folder / 'registry.db'}", log_path=folder / "server.log"
        ) as server,
        FakeOpenAI() as fake,
        mock.patch.dict(
            os.environ,
            {
                **GIT_ENV,
                "OPENAI_BASE_URL": fake.url,
                "OPENAI_API_KEY": "sk-test",
                "PROMPTRAIL_EVAL_CACHE": str(folder / "cache.sqlite"),
            },
        ),
    ):
        for country, capital in CAPITALS.items():
            fake.reply_when(GOOD.replace("{{country}}", country), capital)
        _git(repo, "init", "-q", "-b", "main")
        (repo / "datasets").mkdir()
        (repo / "datasets/capitals.yaml").write_text(dataset_file())
        (repo / "prompts").mkdir()
        (repo / "prompts/capital.yaml").write_text(prompt_file(GOOD + "?", 1))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "capital v1")
        published = run_cli("publish", "--registry", server.url, cwd=repo)
        assert published.exit_code == 0, published.output
        _git(repo, "checkout", "-q", "-b", "worse")
        (repo / "prompts/capital.yaml").write_text(prompt_file(BAD + ".", 2))
        result = run_cli(
            "eval", "--base", "main", "--registry", server.url, "--format", "json", cwd=repo
        )
        assert result.exit_code == 1, result.output  # the regression fails the gate
        yield Site(server.url, json.loads(result.stdout))


def test_datasets_list_their_versions_items_and_runs_over_time(site: Site, page) -> None:
    page.goto(site.url + "/datasets")
    row = page.locator("tbody tr", has_text="capitals")
    expect(row).to_contain_text("12")
    row.get_by_role("link", name="capitals").click()
    expect(page.locator("h1")).to_contain_text("capitals")
    expect(page.locator("table.versions tbody tr")).to_have_count(1)
    expect(page.locator("table.items tbody tr")).to_have_count(12)
    expect(page.locator("table.items")).to_contain_text("France")
    runs = page.locator("table.runs tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.nth(0)).to_contain_text("1.000")  # the base (v1), first in time
    expect(runs.nth(1)).to_contain_text("0.000")
    shoot(page, "eval-dataset")


def test_a_prompt_versions_runs_and_one_run_item_by_item(site: Site, page) -> None:
    page.goto(site.url + "/prompts/capital")  # v1 is published; the PR's v2 is not
    page.locator("#versions tbody tr", has_text="v1").get_by_role("link", name="runs").click()
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(site.report["prompts"][0]["base"]["run_id"])
    page.goto(site.url + "/runs?prompt=capital&version=2")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(1)
    head_id = site.report["prompts"][0]["head"]["run_id"]
    rows.get_by_role("link", name=head_id).click()
    expect(page.locator("h1")).to_contain_text(head_id)
    expect(page.locator("table.items tbody tr")).to_have_count(12)
    expect(page.locator(".facts")).to_contain_text("12 (0 cached)")


def test_two_runs_side_by_side_with_changed_verdicts_first_and_word_diffs(site: Site, page) -> None:
    url = site.report["prompts"][0]["compare_url"]
    assert url.startswith(site.url + "/runs/compare?")
    page.goto(url)
    verdict = page.locator("table.comparison tr[data-evaluator=exact]")
    expect(verdict).to_contain_text("regression")
    expect(verdict).to_contain_text("[-1.000, -1.000]")
    expect(verdict).to_contain_text("0 / 0 / 12")
    items = page.locator("table.compare-items tbody tr")
    expect(items).to_have_count(12)
    first = items.nth(0)
    expect(first).to_have_class("flipped")
    expect(first).to_contain_text("verdict changed")
    expect(first.locator(".word-diff del")).to_have_count(1)
    expect(first.locator(".word-diff ins").first).to_be_visible()
    shoot(page, "eval-compare")


def test_an_unknown_run_is_a_404_page(site: Site, page) -> None:
    answer = page.goto(site.url + "/runs/no-such-run")
    assert answer is not None
    assert answer.status == 404
