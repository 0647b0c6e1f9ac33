"""The web UI in a real browser against a real server (auth off, loopback).

Data goes in through the real paths: three publishes of support/triage that move its
labels, and support runs recorded by the tracer SDK (a span, a retrieval, two
generations, an event) for two users on two prompt versions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from serverproc import ServerProcess

from .conftest import shoot
from .seed import REPO, Seeded, publish_prompts, record_traces

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser


@dataclass
class Site:
    url: str
    seeded: Seeded


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("ui")
    with ServerProcess(
        f"sqlite:///{folder / 'registry.db'}", log_path=folder / "server.log"
    ) as server:
        publish_prompts(server.url)
        yield Site(server.url, record_traces(server.url))


def test_a_prompt_shows_versions_deployment_log_and_a_diff(page, site: Site) -> None:
    page.goto(site.url + "/prompts")
    expect(page.locator("tr.folder")).to_contain_text("support/")
    row = page.locator("table.tree tbody tr", has_text="triage")
    expect(row).to_contain_text("production v2")
    expect(row).to_contain_text("staging v3")
    expect(row.locator("td").last).to_have_text("4")  # generations in the last 7 days
    shoot(page, "prompts")

    row.get_by_role("link", name="triage").click()
    expect(page).to_have_url(re.compile(r"/prompts/support/triage$"))
    expect(page.locator("#versions tbody tr")).to_have_count(3)
    expect(page.locator("#versions")).to_contain_text("Ada Lovelace")
    commit = page.locator(f"#versions a[href='{REPO}/commit/{'3' * 40}']")
    expect(commit).to_have_text("33333333")
    edit = page.get_by_role("link", name="Edit in git")
    expect(edit).to_have_attribute("href", f"{REPO}/edit/main/prompts/support/triage.yaml")

    log = page.locator("#log tbody tr")
    expect(log).to_have_count(4)  # newest first
    expect(log.nth(0)).to_contain_text("staging")
    expect(log.nth(0)).to_contain_text("v2 → v3")
    expect(log.nth(1)).to_contain_text("production")
    expect(log.nth(1)).to_contain_text("v1 → v2")
    expect(log.nth(2)).to_contain_text("added on v2")
    expect(log.nth(3)).to_contain_text("added on v1")
    expect(log.nth(1).get_by_role("link", name="33333333")).to_be_visible()
    expect(log.nth(3).get_by_role("link", name="11111111")).to_be_visible()

    # By default the last two versions are compared.
    diff = page.locator("#diff .diff")
    expect(diff).to_have_attribute("data-old", "2")
    expect(diff.locator(".chip.add", has_text="+language")).to_be_visible()
    expect(diff.locator(".chip.add", has_text="history (placeholder)")).to_be_visible()
    expect(diff.locator("table.config-diff")).to_contain_text("max_tokens")
    expect(diff.locator("table.config-diff tr.changed", has_text="model")).to_contain_text(
        '"gpt-4o"'
    )

    page.select_option("select[name=old]", "1")
    page.select_option("select[name=new]", "2")
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"old=1&new=2"))
    expect(diff).to_have_attribute("data-old", "1")
    expect(diff.locator("pre.diff-lines .add")).to_contain_text(["+Be brief."])
    expect(diff.locator("table.config-diff")).to_have_count(0)  # same config
    shoot(page, "prompt")


def test_the_preview_compiles_a_version_with_typed_in_values(page, site: Site) -> None:
    page.goto(site.url + "/prompts/support/triage?version=3")
    expect(page.locator("#content h2")).to_have_text("Content of v3")
    page.fill("textarea[name='var.product']", "Acme Cloud")
    page.fill("textarea[name='var.ticket']", "I was charged twice")
    page.get_by_role("button", name="Compile").click()
    error = page.locator("#preview-out .error-text")
    expect(error).to_contain_text("language")  # the missing variable is named

    page.fill("textarea[name='var.language']", "Dutch")
    page.fill("textarea[name='var.history']", '[{"role": "user", "content": "earlier message"}]')
    page.get_by_role("button", name="Compile").click()
    out = page.locator("#preview-out .msg")
    expect(out).to_have_count(3)
    expect(out.nth(0)).to_contain_text("for Acme Cloud in Dutch")
    expect(out.nth(1)).to_contain_text("earlier message")
    expect(out.nth(2)).to_contain_text("I was charged twice")
    shoot(page, "prompt-preview")


def test_a_multi_step_trace_opens_as_a_tree_and_links_to_its_prompt(page, site: Site) -> None:
    trace_id = site.seeded.trace_ids["alice"]
    page.goto(site.url + "/traces")
    page.locator(f"a[href='/traces/{trace_id}']").first.click()
    rows = page.locator("details.obs")
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_contain_text("handle-ticket")
    expect(page.locator("details.obs[data-type=generation]")).to_have_count(2)
    # Children are indented under the root, and the bars sit on one time scale.
    assert rows.nth(1).locator(".name-col").evaluate("e => getComputedStyle(e).paddingLeft") != (
        rows.nth(0).locator(".name-col").evaluate("e => getComputedStyle(e).paddingLeft")
    )
    root_bar = rows.nth(0).locator(".bar").bounding_box()
    reply_bar = rows.nth(4).locator(".bar").bounding_box()
    assert root_bar is not None
    assert reply_bar is not None
    assert reply_bar["x"] > root_bar["x"]

    triage = page.locator("details.obs[data-type=generation]", has_text="triage")
    body = triage.locator(":scope > .obs-body")
    expect(body).to_be_hidden()
    triage.locator(":scope > summary").click()
    expect(body).to_be_visible()
    expect(body).to_contain_text("gpt-4o-mini")
    expect(body).to_contain_text("120 in · 8 out · 128 total")
    expect(body).to_contain_text("temperature=0.2")
    expect(body.locator(".msg.role-system")).to_contain_text("You triage support tickets for Acme")
    expect(body).to_contain_text("$0.0000")  # computed from the price table
    shoot(page, "trace")

    body.locator("a.prompt-link").click()
    expect(page).to_have_url(re.compile(r"/prompts/support/triage\?version=2$"))
    expect(page.locator("#content h2")).to_have_text("Content of v2")


def test_traces_filter_by_user_and_by_prompt_version(page, site: Site) -> None:
    page.goto(site.url + "/traces")
    expect(page.locator("table.traces tbody tr")).to_have_count(4)
    page.fill("input[name=user]", "bob")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.traces tbody tr")
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i)).to_contain_text("bob")

    page.goto(site.url + "/traces")
    page.fill("input[name=prompt]", "support/triage")
    page.fill("input[name=version]", "2")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i)).to_contain_text("alice")
        expect(rows.nth(i)).to_contain_text("support/triage v2")
    shoot(page, "traces-filtered")

    page.fill("input[name=version]", "9")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("p.empty")).to_contain_text("No trace matches")
    page.goto(site.url + "/traces?q=HANDLE")  # the search ignores case
    expect(rows).to_have_count(4)


def test_an_annotation_score_is_added_and_shown(page, site: Site) -> None:
    trace_id = site.seeded.trace_ids["bob"]
    page.goto(f"{site.url}/traces/{trace_id}")
    expect(page.locator("table.scores")).to_have_count(0)
    form = page.locator("form.annotate")
    form.locator("input[name=name]").fill("helpful")
    form.locator("select[name=data_type]").select_option("boolean")
    form.locator("input[name=value]").fill("maybe")
    form.get_by_role("button", name="Add score").click()
    expect(form.locator(".error-text")).to_contain_text("true or false")

    form.locator("input[name=value]").fill("true")
    form.locator("input[name=comment]").fill("solved the ticket")
    form.get_by_role("button", name="Add score").click()
    expect(page).to_have_url(re.compile(rf"/traces/{trace_id}#scores$"))
    row = page.locator("table.scores tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("helpful")
    expect(row.locator(".score-value")).to_have_text("true")
    expect(row).to_contain_text("annotation")
    expect(row).to_contain_text("solved the ticket")


def test_the_dashboard_shows_the_traced_runs(page, site: Site) -> None:
    page.goto(site.url + "/")
    expect(page.locator("#total-traces")).to_have_text("4")
    assert page.locator("#total-cost").inner_text().startswith("$0.000")
    for figure in range(4):
        chart = page.locator("figure svg.chart").nth(figure)
        expect(chart.locator("text.empty")).to_have_count(0)
    expect(page.locator("figure svg.chart").nth(2).locator("rect")).to_have_count(1)
    expect(page.locator("table.top-users")).to_contain_text("alice")
    expect(page.locator("table.top-prompts")).to_contain_text("support/triage v3")
    shoot(page, "dashboard")

    page.goto(site.url + "/users")
    expect(page.locator("table.users tbody tr")).to_have_count(2)
    expect(page.locator("table.users tbody tr", has_text="bob")).to_contain_text("464")
    shoot(page, "users")


def test_a_session_reads_as_a_conversation(page, site: Site) -> None:
    page.goto(site.url + "/sessions")
    page.get_by_role("link", name="chat-alice").click()
    turns = page.locator(".turn")
    expect(turns).to_have_count(2)
    expect(turns.nth(0).locator(".role-user")).to_contain_text("(alice, message 1)")
    expect(turns.nth(1).locator(".role-user")).to_contain_text("(alice, message 2)")
    expect(turns.nth(0).locator(".role-assistant")).to_contain_text("Corrected invoice")
    shoot(page, "session")


def test_unknown_pages_and_ids_get_a_404_page(page, site: Site) -> None:
    for path, says in (
        ("/no/such/page", "There is no page at /no/such/page"),
        ("/traces/0123456789abcdef", "no trace '0123456789abcdef'"),
        ("/prompts/support/nothing", "no prompt named 'support/nothing'"),
        ("/sessions/nobody", "no session 'nobody'"),
    ):
        response = page.goto(site.url + path)
        assert response is not None
        assert response.status == 404
        expect(page.locator("h1")).to_contain_text("404")
        expect(page.locator(".message")).to_contain_text(says)
        expect(page.locator("pre")).to_have_count(0)  # never a traceback
    shoot(page, "not-found")
    api = httpx.get(site.url + "/api/v1/no/such")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/json"
    assert api.json()["error"] == "no_route"


def test_llm_calls_list_across_traces_filters_and_drills_down_to_a_model(page, site: Site) -> None:
    page.goto(site.url + "/generations")
    rows = page.locator("table.generations tbody tr")
    expect(rows).to_have_count(8)  # two calls in each of the four traces
    expect(page.locator("#model-figures")).to_have_count(0)

    page.fill("input[name=prompt]", "support/triage")
    page.fill("input[name=version]", "3")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i)).to_contain_text("support/triage v3")
        expect(rows.nth(i)).to_contain_text("triage")

    rows.first.get_by_role("link", name="gpt-4o-mini").click()
    expect(page.locator("h1")).to_contain_text("gpt-4o-mini")
    figures = page.locator("#model-figures")
    expect(figures.locator(".card", has_text="Calls")).to_contain_text("8")
    expect(figures.locator(".card", has_text="Tokens")).to_contain_text("800 / 128")
    expect(rows).to_have_count(2)  # the list keeps its prompt filter
    shoot(page, "generations-model")

    rows.first.get_by_role("link", name="open").click()
    expect(page.locator("h1")).to_contain_text("handle-ticket")
    page.goto(site.url + "/generations?model=no-such-model")
    expect(page.locator("p.empty")).to_contain_text("No LLM call matches")


# What each key page is made of (headings, figures, tables and their columns, cards,
# forms and their fields), in reading order, digits as `#`: a change that drops or
# reorders a part of the page fails here, while the numbers may vary from run to run.
OUTLINE = """() => {
  const text = (el) => el.textContent.trim().replace(/\\s+/g, " ").replace(/\\d+/g, "#");
  const parts = [];
  for (const el of document.querySelectorAll(
    "main h1, main h2, main h3, main figure, main table, main .card .k, main form"
  )) {
    const tag = el.tagName.toLowerCase();
    if (tag === "figure") {
      const caption = el.querySelector("figcaption");
      const chart = el.querySelector("svg") ? " [svg]" : "";
      parts.push(`figure: ${caption ? text(caption) : ""}${chart}`);
    } else if (tag === "table") {
      // One column per score name: which scores exist depends on the tests run before.
      const heads = [...el.querySelectorAll("thead th")]
        .map(text)
        .filter((h) => !h.startsWith("avg "));
      parts.push(`table.${el.className || "-"}: ${heads.join(" | ")}`);
    } else if (tag === "form") {
      const fields = [...el.querySelectorAll("input[name], select[name], textarea[name]")];
      const names = [...new Set(fields.map((f) => f.name))];
      const action = (el.getAttribute("action") || "").replace(/[0-9a-f]{16,}/g, "ID");
      parts.push(`form ${action}: ${names.join(", ")}`);
    } else if (el.classList.contains("k")) {
      parts.push(`card: ${text(el)}`);
    } else {
      parts.push(`${tag}: ${text(el)}`);
    }
  }
  return parts.join("\\n") + "\\n";
}"""
OUTLINES = Path(__file__).parent / "outlines"


@pytest.mark.parametrize("which", ["dashboard", "prompt", "trace"])
def test_key_pages_keep_their_structure(page, site: Site, which: str) -> None:
    """To accept an intended change: PROMPTRAIL_UPDATE_OUTLINES=1 pytest -k structure."""
    path = {
        "dashboard": "/",
        "prompt": "/prompts/support/triage",
        "trace": f"/traces/{site.seeded.multi_step}",
    }[which]
    page.goto(site.url + path)
    outline = page.evaluate(OUTLINE)
    shoot(page, f"outline-{which}")
    golden = OUTLINES / f"{which}.txt"
    if os.environ.get("PROMPTRAIL_UPDATE_OUTLINES"):
        OUTLINES.mkdir(exist_ok=True)
        golden.write_text(outline)
    assert outline == golden.read_text(), (
        f"the {which} page's structure changed; if that is intended, rerun with "
        "PROMPTRAIL_UPDATE_OUTLINES=1 and commit tests/server/ui/outlines/"
    )


def test_a_user_page_shows_their_calls_by_model_sessions_and_traces(page, site: Site) -> None:
    page.goto(site.url + "/users")
    page.locator("table.users").get_by_role("link", name="alice").click()
    expect(page.locator("h1")).to_contain_text("alice")
    figures = page.locator("#user-figures")
    expect(figures.locator(".card", has_text="Traces")).to_contain_text("2")
    expect(figures.locator(".card", has_text="LLM calls")).to_contain_text("4")
    expect(figures.locator(".card", has_text="Tokens")).to_contain_text("464")
    models = page.locator("table.user-models tbody tr")
    expect(models).to_have_count(1)
    expect(models.first).to_contain_text("gpt-4o-mini")
    expect(page.locator("table.user-sessions")).to_contain_text("chat-alice")
    expect(page.locator("table.user-traces tbody tr")).to_have_count(2)
    shoot(page, "user")
    models.first.get_by_role("link", name="gpt-4o-mini").click()
    expect(page.locator("#model-figures")).to_be_visible()
    page.goto(site.url + "/users/nobody-at-all")
    expect(page.locator("p.empty").first).to_contain_text("No LLM calls")
