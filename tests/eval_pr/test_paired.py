"""Pairing two runs, the PR gate on them, and the comment section that shows the result."""

from __future__ import annotations

import pytest

from promptrail.eval import prgate
from promptrail.eval.paired import changed_items, compare_runs
from promptrail.gitops.evalcomment import render_section
from promptrail.repo.spec import GateRule

from .runs import run

IDS = [f"q{n}" for n in range(40)]


def pair(broken: int, fixed: int = 0) -> tuple:
    """Base passes the first 30 items; the head breaks `broken` of them and fixes `fixed`."""
    base_pass = {i: n < 30 for n, i in enumerate(IDS)}
    head_pass = dict(base_pass)
    for i in IDS[:broken]:
        head_pass[i] = False
    for i in IDS[30 : 30 + fixed]:
        head_pass[i] = True
    base = run(
        1, {i: ("Paris" if ok else "Lyon") for i, ok in base_pass.items()}, {"exact": base_pass}
    )
    head = run(
        2, {i: ("Paris" if ok else "Lyon") for i, ok in head_pass.items()}, {"exact": head_pass}
    )
    return base, head


def test_pairing_finds_the_regression_and_lists_broken_items_first() -> None:
    base, head = pair(broken=12, fixed=1)
    comparison = compare_runs(base, head)
    assert comparison["exact"].verdict == "worse"
    assert (comparison["exact"].wins, comparison["exact"].losses) == (1, 12)
    items = changed_items(base, head)
    assert [i.id for i in items][:12] == sorted(IDS[:12])
    assert items[-1].id == "q30"
    assert items[0].flipped == {"exact": "broken"}
    assert items[-1].flipped == {"exact": "fixed"}
    assert items[0].as_dict()["word_diff"] == "[-Paris-]{+Lyon+}"


def test_the_gate_fails_on_a_significant_drop_and_never_on_noise() -> None:
    base, head = pair(broken=12)
    result = prgate.check({}, head, compare_runs(base, head))
    assert not result.passed
    assert "no significant drop allowed" in (result.checks[0].message or "")

    base, head = pair(broken=2, fixed=1)  # a wobble: the interval includes 0
    comparison = compare_runs(base, head)
    assert comparison["exact"].verdict == "same"
    assert prgate.check({}, head, comparison).passed


def test_the_gate_allows_a_declared_drop_and_checks_min_and_ceilings() -> None:
    base, head = pair(broken=12)
    comparison = compare_runs(base, head)
    assert prgate.check({"exact": GateRule(max_drop=0.5)}, head, comparison).passed
    result = prgate.check({"exact": GateRule(max_drop=0.5, min=0.9)}, head, comparison)
    assert not result.passed
    assert result.checks[0].message == "exact = 0.45, below the minimum 0.9"

    cheap = run(2, {"a": "x"}, {"ok": {"a": True}}, cost=0.002, latency_ms=800)
    assert prgate.check(
        {"cost_per_call": GateRule(max=0.01), "latency_ms": GateRule(max=900)}, cheap, {}
    ).passed
    failed = prgate.check({"cost_per_call": GateRule(max=0.001)}, cheap, {})
    assert not failed.passed
    assert "above 0.001" in (failed.checks[0].message or "")


def report_for(base, head) -> dict:
    comparison = compare_runs(base, head)
    gate = prgate.check({}, head, comparison)
    return {
        "base": {"ref": "origin/main", "commit": "a" * 40},
        "head": {"ref": "HEAD", "commit": "b" * 40},
        "gate": {"passed": gate.passed},
        "llm_calls": 40,
        "prompts": [
            {
                "name": "qa",
                "dataset": "capitals",
                "changed": ["content"],
                "base": {"version": 1, "reused": True},
                "head": {"version": 2},
                "comparison": {k: v.as_dict() for k, v in comparison.items()},
                "gate": gate.model_dump(),
                "changed_items": [i.as_dict() for i in changed_items(base, head)],
                "compare_url": "http://registry/runs/compare?base=run-1&head=run-2",
            }
        ],
    }


def test_the_comment_section_shows_table_gate_items_and_link() -> None:
    text = render_section(report_for(*pair(broken=12)))
    assert "❌ **gate failed**" in text
    assert "| `exact` | 0.750 | 0.450 | -0.300 [" in text
    assert "| ❌ regression |" in text
    assert "`exact`: dropped 0.300" in text
    assert "<summary>12 item(s) changed; the first 5</summary>" in text
    assert "<del>Paris</del><ins>Lyon</ins>" in text
    assert "_7 more in the run comparison._" in text
    assert "[Compare the two runs item by item](http://registry/runs/compare?" in text
    assert "v1 → v2 · changed: content · base run reused" in text


def test_the_comment_says_no_detectable_change_for_noise() -> None:
    text = render_section(report_for(*pair(broken=1, fixed=1)))
    assert "✅ gate passed" in text
    assert "| no detectable change |" in text


@pytest.mark.parametrize(
    ("report", "shown"),
    [
        ({"skipped": "no LLM key (OPENAI_API_KEY): evaluation skipped"}, "no LLM key"),
        ({"prompts": []}, "nothing to evaluate"),
    ],
)
def test_the_comment_explains_an_empty_evaluation(report: dict, shown: str) -> None:
    assert shown in render_section(report)
