"""plan/publish as a user meets them: output, --prune, --dry-run, the recorded source, progress."""

from __future__ import annotations

import json

import pytest

from conftest import GitRepo, run_cli
from promptrail.api.registry import PublishRequest, VersionUpload
from promptrail.repo.spec import content_hash

from .gitops_helpers import Api, ok, plan, publish, text


def test_plan_text_and_json_say_what_and_why(example_repo: GitRepo, api: Api) -> None:
    shown = ok(plan(example_repo, api.url)).stdout
    assert shown.splitlines()[:2] == [
        "customer-email",
        shown.splitlines()[1],
    ]
    assert "  + version 1 [" in shown
    assert "new content in prompts/customer-email.yaml:2 (commit " in shown
    assert "  + label production -> 1: declared in prompts/customer-email.yaml:7" in shown
    assert "pinned by label 'production' (prompts/summarize.yaml:7)" in shown
    assert shown.rstrip().endswith(
        "Plan: 5 versions to create, 5 label changes, 8 metadata updates, 1 dataset version "
        "(0 of 4 prompts unchanged)."
    )
    assert "dataset triage\n  + content [" in shown  # published with the prompts
    data = json.loads(ok(plan(example_repo, api.url, "--format", "json")).stdout)
    assert data["empty"] is False
    assert data["summary"]["versions"] == 5
    summarize = [v for v in data["versions"] if v["name"] == "summarize"]
    assert [(v["version"], v["path"]) for v in summarize] == [
        (1, "prompts/summarize.yaml"),
        (2, "prompts/summarize.yaml"),
    ]
    assert {"name", "label", "action", "from", "to", "reason"} <= set(data["labels"][0])
    # plan changes nothing, nor does a dry run (which the registry checks).
    assert api.state().prompts == {}
    result = ok(publish(example_repo, api.url, "--dry-run"))
    assert "Dry run: the registry accepts this publish; nothing was changed." in result.stdout
    assert api.state().prompts == {}


def test_plan_needs_a_registry_address(example_repo: GitRepo) -> None:
    result = run_cli("plan", cwd=example_repo.path)
    assert result.exit_code == 2
    assert "pass --registry" in result.stderr


def test_deleted_prompt_keeps_its_labels_until_prune(example_repo: GitRepo, api: Api) -> None:
    ok(publish(example_repo, api.url))
    example_repo.remove("prompts/customer-email.yaml")
    example_repo.commit("drop the email prompt")
    kept = ok(publish(example_repo, api.url))
    assert (
        "customer-email\n  = kept: production (v1): file deleted, pass --prune to remove"
        in kept.stdout
    )
    assert api.served("customer-email") == 1
    check = plan(example_repo, api.url, "--check")
    assert check.exit_code == 1
    assert "`promptrail publish --prune` removes them" in check.stderr
    pruned = ok(publish(example_repo, api.url, "--prune"))
    assert "- label production (was on 1): prompt file deleted (--prune)" in pruned.stdout
    assert api.served("customer-email") is None
    assert api.get("customer-email", version=1)["version"] == 1  # versions stay
    ok(plan(example_repo, api.url, "--check"))


def test_source_from_git_and_ci_variables_is_recorded(
    git_repo: GitRepo, shared_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.write_prompt("sourced", text(1, "Hello"))
    first = git_repo.commit("greet v1")
    git_repo.write_prompt("sourced", text(1, "Hello", "[production, staging]"))
    head = git_repo.commit("stage greet")
    monkeypatch.setenv("GITHUB_SHA", head)
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/prompts")
    out = ok(publish(git_repo, shared_api.url)).stdout
    run_url = "https://github.example/acme/prompts/actions/runs/4242"
    assert f"from {head[:7]} ({run_url})" in out
    [version] = shared_api.versions("sourced")
    # The version carries the commit that introduced its content; the run that published it.
    assert (version["commit"], version["author"], version["message"]) == (
        first,
        "Ada Author <ada@example.com>",
        "greet v1",
    )
    assert version["ci_run_url"] == run_url
    events = shared_api.label_events("sourced")
    assert {(e["label"], e["commit"], e["ci_run_url"]) for e in events} == {
        ("production", head, run_url),
        ("staging", head, run_url),
    }


def test_many_prompts_show_progress(git_repo: GitRepo, shared_api: Api) -> None:
    for n in range(250):
        git_repo.write_prompt(f"bulk/p{n:03}", text(1, f"Prompt {n}"))
    git_repo.commit("250 prompts")
    result = ok(publish(git_repo, shared_api.url))
    assert "read 250 prompt files in" in result.stderr
    assert "sending 250 versions, 250 label changes for 250 prompts in one request" in result.stderr
    assert "applied in" in result.stderr
    assert "250 versions created, 250 label changes" in result.stdout
    assert shared_api.served("bulk/p249") == 1
    quiet = ok(publish(git_repo, shared_api.url))
    assert "sending" not in quiet.stderr


def test_version_counts_the_versions_the_registry_knows(git_repo: GitRepo, shared_api: Api) -> None:
    git_repo.write_prompt("numbered", text(1, "One"))
    git_repo.commit("numbered v1")
    ok(publish(git_repo, shared_api.url))
    # Version 4 was published from another branch that never merged.
    content = {"type": "text", "prompt": "elsewhere", "config": {}}
    upload = VersionUpload(
        name="numbered", version=4, type="text", prompt="elsewhere", hash=content_hash(content)
    )
    assert shared_api.publish(PublishRequest(versions=[upload])).status_code == 200
    git_repo.write_prompt("numbered", text(1, "One, edited"))
    local = run_cli("version", "--check", cwd=git_repo.path)
    assert local.exit_code == 1
    assert "numbered: 1 → 2" in local.stdout
    counted = ok(run_cli("version", "--registry", shared_api.url, cwd=git_repo.path))
    assert "numbered: 1 → 5" in counted.stdout
    git_repo.commit("numbered v5")
    ok(publish(git_repo, shared_api.url))
    assert shared_api.served("numbered") == 5


TUNED = """\
version: 1
labels: [production]
prompt: "Hello"
config:
  model: m
  temperature: 0.2
"""


def test_a_preview_of_a_merge_commit_names_the_commit_its_content_comes_from(
    git_repo: GitRepo, shared_api: Api
) -> None:
    name = "merge-preview"
    git_repo.write_prompt(name, TUNED)
    git_repo.commit("v1")
    git_repo.git("checkout", "-q", "-b", "reword")
    git_repo.write_prompt(name, TUNED.replace("1", "2").replace('"Hello"', '"Hello there"'))
    git_repo.commit("reword")
    git_repo.git("checkout", "-q", "main")
    git_repo.write_prompt(name, TUNED.replace("1", "2").replace("0.2", "0.5"))
    git_repo.commit("retune")
    # What CI checks out for a pull request: the merge of the branch into its base, here
    # a clean merge of both edits into content that neither side committed.
    git_repo.git("checkout", "-q", "--detach")
    git_repo.git("merge", "-q", "--no-ff", "-m", "Merge reword into main", "reword")
    merge = git_repo.head()
    result = ok(publish(git_repo, shared_api.url, "--preview-label", "pr-7", "--dry-run"))
    assert (
        f"preview content of prompts/{name}.yaml (kept apart from the version line) "
        f"(commit {merge[:7]}, Ada Author: 'Merge reword into main')" in result.stdout
    )
    assert "(uncommitted)" not in result.stdout


def test_a_pin_gets_the_content_last_committed_under_its_number(
    git_repo: GitRepo, api: Api
) -> None:
    git_repo.write_prompt("drafted", text(1, "One"))
    git_repo.commit("v1")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write_prompt("drafted", text(2, "Two (draft)", "{production: 1, staging: 2}"))
    git_repo.commit("v2 draft")
    git_repo.write_prompt("drafted", text(2, "Two", "{production: 1, staging: 2}"))
    git_repo.commit("v2 final")
    git_repo.write_prompt("drafted", text(3, "Three", "{production: 2, staging: 3}"))
    git_repo.commit("v3 to staging, v2 to production")
    git_repo.git("checkout", "-q", "main")
    git_repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    ok(run_cli("validate", cwd=git_repo.path))  # v2 means its last content: no reuse
    final = content_hash({"type": "text", "prompt": "Two", "config": {}})
    # Rebuilding from history (dry run: the registry stays empty) and publishing HEAD agree.
    replay = ok(publish(git_repo, api.url, "--history", "--dry-run", "--format", "json"))
    replayed = [v for p in json.loads(replay.stdout)["publishes"] for v in p["versions"]]
    assert [(v["version"], v["hash"]) for v in replayed if v["version"] == 2] == [(2, final)]
    ok(publish(git_repo, api.url))
    assert api.get("drafted", label="production")["prompt"] == "Two"
    # Once production moves on, the registry's v2 is what git says v2 is: no drift.
    git_repo.write_prompt("drafted", text(3, "Three"))
    git_repo.commit("promote v3")
    ok(publish(git_repo, api.url))
    ok(plan(git_repo, api.url, "--check"))


def test_a_preview_of_a_description_only_change_says_why_nothing_is_uploaded(
    example_repo: GitRepo, api: Api
) -> None:
    ok(publish(example_repo, api.url))
    example_repo.git("checkout", "-q", "-b", "describe")
    path = example_repo.path / "prompts/summarize.yaml"
    path.write_text(path.read_text().replace("description:", "description: Reworded.", 1))
    example_repo.commit("reword the description")
    shown = ok(publish(example_repo, api.url, "--preview-label", "pr-3")).stdout
    assert "No changes: the registry matches git" not in shown
    assert "Preview pr-3: nothing to upload, the registry already has the content" in shown
    assert "published on merge" in shown


def test_quiet_keeps_only_the_summary_and_the_problems(example_repo: GitRepo, api: Api) -> None:
    shown = ok(plan(example_repo, api.url, "--quiet")).stdout
    assert shown.strip().splitlines() == [
        "Plan: 5 versions to create, 5 label changes, 8 metadata updates, 1 dataset version "
        "(0 of 4 prompts unchanged)."
    ]
    published = ok(publish(example_repo, api.url, "-q")).stdout.strip().splitlines()
    assert len(published) == 2
    assert published[1].startswith("Published #")
    example_repo.write_prompt("broken", "version: 1\nprompt: hi\nlabels: [latest]\n")
    refused = plan(example_repo, api.url, "--quiet")
    assert refused.exit_code == 1
    assert "prompts/broken.yaml:3: `latest` is automatic" in refused.stdout
    assert "  + version" not in refused.stdout
