"""The plan alone: prompt files and hand-made registry states in, a Plan out (no I/O)."""

from __future__ import annotations

import json
import textwrap

from promptrail.api.registry import PromptState, RegistryState
from promptrail.gitops.plan import apply_request, history_needed, make_plan
from promptrail.repo.git import Commit
from promptrail.repo.promptfile import LoadedPrompt, parse_prompt
from promptrail.repo.repository import HistoryEntry


def prompt(name: str, text: str) -> LoadedPrompt:
    data = textwrap.dedent(text).lstrip("\n").encode()
    return parse_prompt(data, name, f"prompts/{name}.yaml")


def text_prompt(name: str, version: int, body: str, labels: str = "[production]") -> LoadedPrompt:
    return prompt(
        name,
        f"""
        version: {version}
        prompt: "{body}"
        labels: {labels}
        """,
    )


def commit(n: int) -> Commit:
    return Commit(f"{n:040x}", "Ada Author <ada@example.com>", f"2024-01-0{n}T00:00:00Z", f"c{n}")


def state(**prompts: PromptState) -> RegistryState:
    return RegistryState(prompts=prompts)


def test_new_prompt_creates_version_and_labels_with_reasons_and_origin() -> None:
    p = text_prompt("greet", 1, "Hello {{name}}")
    history = {"greet": [HistoryEntry("greet", commit(1), "b1", p)]}
    plan = make_plan({"greet": p}, RegistryState(), history=history)
    assert [(v.name, v.version, v.hash) for v in plan.versions] == [("greet", 1, p.hash)]
    assert plan.versions[0].origin == commit(1)
    assert plan.versions[0].reason == "new content in prompts/greet.yaml:1"
    [label] = plan.labels
    assert (label.label, label.previous, label.to, label.kind) == ("production", None, 1, "add")
    assert label.reason == "declared in prompts/greet.yaml:3"
    request = plan.to_request()
    assert request.versions[0].commit == commit(1).sha
    assert request.labels[0].expected is None
    assert not plan.empty
    assert not plan.in_sync


def test_registry_matching_git_is_an_empty_plan_needing_no_history() -> None:
    p = text_prompt("greet", 2, "Hello", "{production: 1, staging: 2}")
    reg = state(
        greet=PromptState(versions={1: "h1", 2: p.hash}, labels={"production": 1, "staging": 2})
    )
    assert history_needed({"greet": p}, reg) == set()
    plan = make_plan({"greet": p}, reg)
    assert plan.empty
    assert plan.in_sync
    assert "No changes" in plan.render_text()


def test_version_number_with_other_content_is_a_problem_saying_to_bump() -> None:
    p = text_prompt("greet", 2, "Changed")
    reg = state(greet=PromptState(versions={1: "h1", 2: "other"}, labels={"production": 2}))
    plan = make_plan({"greet": p}, reg)
    [problem] = plan.problems
    assert problem.file == "prompts/greet.yaml"
    assert problem.line == 1
    assert "already published with other content" in problem.message
    assert "promptrail version" in problem.message
    assert "to 3 or above" in problem.message
    assert not plan.versions


def test_label_move_records_where_it_was_and_expects_the_target_version() -> None:
    p = text_prompt("greet", 1, "Hello")
    reg = state(greet=PromptState(versions={1: p.hash, 2: "h2"}, labels={"production": 2}))
    plan = make_plan({"greet": p}, reg, history={"greet": []})
    move = plan.labels[0]
    assert (move.label, move.previous, move.to, move.kind) == ("production", 2, 1, "move")
    request = plan.to_request()
    assert request.labels[0].expected == 2
    assert (request.labels[1].label, request.labels[1].version) == ("latest", 1)
    assert request.expect_versions == {"greet": {1: p.hash}}
    assert not plan.versions


def test_undeclared_label_is_removed_but_preview_labels_are_left_alone() -> None:
    p = text_prompt("greet", 1, "Hello")
    reg = state(
        greet=PromptState(versions={1: p.hash}, labels={"production": 1, "beta": 1, "pr-7": 1})
    )
    plan = make_plan({"greet": p}, reg)
    [removal] = plan.labels
    assert (removal.label, removal.to, removal.kind) == ("beta", None, "remove")
    assert removal.reason == "no longer declared in prompts/greet.yaml"


def test_pin_to_version_the_registry_has_is_an_expectation_not_an_upload() -> None:
    p = text_prompt("s", 2, "Two", "{production: 1, staging: 2}")
    reg = state(s=PromptState(versions={1: "h1"}, labels={"production": 1}))
    plan = make_plan({"s": p}, reg, history={"s": []})
    assert [v.version for v in plan.versions] == [2]
    assert plan.expect == {"s": {1: "h1"}}
    assert [(c.label, c.to) for c in plan.labels] == [("staging", 2)]


def test_pin_to_version_only_git_has_uploads_it_from_history() -> None:
    old = text_prompt("s", 1, "One")
    new = text_prompt("s", 2, "Two", "{production: 1, staging: 2}")
    history = {
        "s": [HistoryEntry("s", commit(1), "b1", old), HistoryEntry("s", commit(2), "b2", new)]
    }
    assert history_needed({"s": new}, RegistryState()) == {"s"}
    plan = make_plan({"s": new}, RegistryState(), history=history)
    assert [(v.version, v.hash, v.origin) for v in plan.versions] == [
        (1, old.hash, commit(1)),
        (2, new.hash, commit(2)),
    ]
    assert "pinned by label 'production'" in plan.versions[0].reason


def test_a_pin_takes_the_last_content_its_number_had_in_git() -> None:
    # A branch committed a draft of version 2, then the final text, then moved on to 3.
    draft = text_prompt("s", 2, "Two (draft)", "{production: 1}")
    final = text_prompt("s", 2, "Two", "{production: 1}")
    three = text_prompt("s", 3, "Three", "{production: 2}")
    history = {
        "s": [
            HistoryEntry("s", commit(1), "b1", draft),
            HistoryEntry("s", commit(2), "b2", final),
            HistoryEntry("s", commit(3), "b3", three),
        ]
    }
    plan = make_plan({"s": three}, RegistryState(), history=history)
    assert [(v.version, v.hash, v.origin) for v in plan.versions] == [
        (2, final.hash, commit(2)),
        (3, three.hash, commit(3)),
    ]
    # Once production moves on, the registry's final v2 is what git says v2 is: no drift.
    on_three = text_prompt("s", 3, "Three")
    reg = state(s=PromptState(versions={2: final.hash, 3: three.hash}, labels={"production": 2}))
    assert make_plan({"s": on_three}, reg, history=history).drift == []


def test_pin_to_version_nobody_has_is_a_problem_at_the_label_line() -> None:
    p = text_prompt("s", 2, "Two", "{production: 1, staging: 2}")
    plan = make_plan({"s": p}, RegistryState(), history={"s": []})
    [problem] = plan.problems
    assert problem.line == 3
    assert "pins version 1" in problem.message


def test_deleted_file_keeps_labels_unless_pruned() -> None:
    reg = state(gone=PromptState(versions={1: "h"}, labels={"production": 1, "pr-3": 1}))
    kept = make_plan({}, reg)
    assert kept.empty
    assert not kept.in_sync
    assert kept.kept[0].message == "kept: production (v1): file deleted, pass --prune to remove"
    pruned = make_plan({}, reg, prune=True)
    assert [(c.label, c.to) for c in pruned.labels] == [("production", None)]
    # A file that exists but does not parse is never taken for a deleted one.
    assert not make_plan({}, reg, unreadable={"gone"}, prune=True).labels


def test_metadata_changes_need_no_version() -> None:
    p = prompt(
        "greet",
        """
        version: 1
        prompt: Hello
        tags: [a, b]
        description: Says hello.
        """,
    )
    reg = state(greet=PromptState(versions={1: p.hash}, tags=["a"]))
    plan = make_plan({"greet": p}, reg)
    assert [(m.field, m.old, m.new) for m in plan.metadata] == [
        ("tags", ["a"], ["a", "b"]),
        ("description", None, "Says hello."),
    ]
    assert plan.to_request().metadata == {
        "greet": {"tags": ["a", "b"], "description": "Says hello."}
    }


def test_version_published_outside_git_is_drift() -> None:
    p = text_prompt("greet", 1, "Hello")
    reg = state(greet=PromptState(versions={1: p.hash, 2: "hx"}, labels={"production": 1}))
    assert history_needed({"greet": p}, reg) == {"greet"}  # newer than the file: always looked up
    plan = make_plan(
        {"greet": p}, reg, history={"greet": [HistoryEntry("greet", commit(1), "b", p)]}
    )
    assert not plan.in_sync
    assert "version 2 is in the registry but not in the git history" in plan.drift[0].message
    # The registry would serve the stray version as `latest`: git says latest is 1.
    assert [(c.label, c.to) for c in plan.labels] == [("latest", 1)]


def test_older_registry_versions_are_checked_only_when_thorough() -> None:
    p = text_prompt("greet", 3, "Three")
    reg = state(greet=PromptState(versions={1: "h1", 3: p.hash}, labels={"production": 3}))
    assert history_needed({"greet": p}, reg) == set()
    assert history_needed({"greet": p}, reg, thorough=True) == {"greet"}


def test_reserved_labels_in_a_file_are_problems() -> None:
    p = text_prompt("greet", 1, "Hello", "[latest, pr-9]")
    plan = make_plan({"greet": p}, RegistryState())
    messages = [problem.message for problem in plan.problems]
    assert any("`latest` is automatic" in m for m in messages)
    assert any("'pr-9' starts with 'pr-'" in m for m in messages)
    assert not plan.labels


def test_text_and_json_rendering_group_by_prompt() -> None:
    a = text_prompt("a", 2, "A2")
    b = text_prompt("b", 1, "B1", "[staging]")
    reg = state(
        a=PromptState(versions={1: "h1"}, labels={"production": 1}),
        b=PromptState(versions={1: b.hash}, labels={"production": 1}),
        c=PromptState(versions={1: "hc"}),
    )
    plan = make_plan({"a": a, "b": b}, reg)
    text = plan.render_text()
    assert text.splitlines()[:3] == [
        "a",
        f"  + version 2 [{a.hash[:12]}]: new content in prompts/a.yaml:1 (uncommitted)",
        "  ~ label production: 1 -> 2: declared in prompts/a.yaml:3",
    ]
    assert "  - label production (was on 1): no longer declared in prompts/b.yaml" in text
    assert text.endswith("Plan: 1 version to create, 3 label changes (1 of 3 prompts unchanged).")
    data = json.loads(json.dumps(plan.as_dict()))
    assert data["summary"] == {
        "prompts": 3,
        "unchanged": 1,
        "versions": 1,
        "labels": 3,
        "metadata": 0,
        "datasets": 0,
    }
    staging = next(c for c in data["labels"] if c["label"] == "staging")
    assert staging["name"] == "b"
    assert (staging["action"], staging["from"], staging["to"]) == ("add", None, 1)


def test_counts_read_as_english_for_one_and_for_many() -> None:
    from promptrail.api.registry import PublishResult, PublishSource
    from promptrail.cli.publish import outcome_line
    from promptrail.gitops.preview import make_preview_plan
    from promptrail.gitops.publish import Published

    def tagged(name: str) -> LoadedPrompt:
        return prompt(name, "version: 1\nprompt: Hi\nlabels: [production]\ntags: [a]\n")

    one = make_plan({"a": tagged("a")}, RegistryState())
    assert one.render_text().endswith(
        "Plan: 1 version to create, 1 label change, 1 metadata update (0 of 1 prompt unchanged)."
    )
    two = make_plan({"a": tagged("a"), "b": tagged("b")}, RegistryState())
    assert two.render_text().endswith(
        "Plan: 2 versions to create, 2 label changes, 2 metadata updates "
        "(0 of 2 prompts unchanged)."
    )
    preview = make_preview_plan({"a": tagged("a")}, RegistryState(), "pr-1")
    assert preview.render_text().endswith(
        "Preview pr-1: 1 prompt to upload, 1 label change (0 of 1 prompt unchanged)."
    )
    result = PublishResult(
        publish_id=3,
        created=[{"name": "a", "version": 1, "hash": "h"}],
        moved=[{"name": "a", "label": "production", "from": None, "to": 1}],
        metadata=["a"],
    )
    done = Published(one, result, PublishSource(commit="abc1234def"))
    assert outcome_line(done, dry_run=False) == (
        "Published #3 from abc1234: 1 version created, 1 label change, 1 metadata update."
    )


def test_apply_request_gives_the_state_a_publish_would_leave() -> None:
    p = text_prompt("greet", 1, "Hello")
    plan = make_plan({"greet": p}, RegistryState())
    after = apply_request(RegistryState(), plan.to_request())
    assert after.prompts["greet"].versions == {1: p.hash}
    assert after.prompts["greet"].labels == {"production": 1}
    assert make_plan({"greet": p}, after).empty


def test_latest_is_set_explicitly_only_while_the_file_is_below_the_highest_version() -> None:
    p = text_prompt("greet", 1, "Hello")
    reverted = state(greet=PromptState(versions={1: p.hash, 2: "h2"}, labels={"production": 2}))
    plan = make_plan({"greet": p}, reverted)
    assert [(c.label, c.previous, c.to) for c in plan.labels] == [
        ("production", 2, 1),
        ("latest", None, 1),
    ]
    bumped = text_prompt("greet", 3, "Hello again")
    after = apply_request(reverted, plan.to_request())
    plan = make_plan({"greet": bumped}, after)
    assert [(c.label, c.previous, c.to) for c in plan.labels] == [
        ("production", 1, 3),
        ("latest", 1, None),
    ]
