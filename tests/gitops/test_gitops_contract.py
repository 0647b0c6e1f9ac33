"""DESIGN's GitOps contract, scenario by scenario, on real git repositories and a real server."""

from __future__ import annotations

from typing import Any

import pytest

from appserver import AppServer
from conftest import GitRepo, run_cli
from promptrail.api.client import RegistryClient
from promptrail.api.registry import LabelMove, PublishRequest, VersionUpload
from promptrail.errors import Conflict
from promptrail.gitops.publish import publish as publish_lib
from promptrail.repo.repository import PromptRepo
from promptrail.repo.spec import content_hash

from .gitops_helpers import Api, file_hash, ok, plan, publish, text

# 1 and 2 -----------------------------------------------------------------------------------


def test_1_2_edit_bump_review_then_merge_and_production_serves_it(
    example_repo: GitRepo, api: Api
) -> None:
    result = ok(publish(example_repo, api.url))
    assert "Published #" in result.stdout
    email = api.get("customer-email")
    assert (email["version"], email["hash"]) == (1, file_hash(example_repo, "customer-email"))
    assert email["prompt"] == "Write a {{tone}} email to {{customer_name}} about {{topic}}."
    # summarize pins production to version 1, whose content only git history has.
    assert (api.served("summarize"), api.served("summarize", "staging")) == (1, 2)
    assert "in three sentences" in api.get("summarize")["prompt"]
    assert api.get("support/triage")["messages"][1] == {"role": "placeholder", "name": "history"}

    # 1: the pull request: edit, bump; validate (with the registry) passes, diff shows it.
    example_repo.git("checkout", "-q", "-b", "shorter")
    file = example_repo.path / "prompts/customer-email.yaml"
    file.write_text(
        file.read_text()
        .replace("version: 1", "version: 2")
        .replace("Write a {{tone}} email", "Write a short {{tone}} email")
    )
    example_repo.commit("shorter emails")
    ok(run_cli("validate", "--registry", api.url, "--base", "main", cwd=example_repo.path))
    assert "short" in ok(run_cli("diff", "main", cwd=example_repo.path)).stdout
    shown = ok(plan(example_repo, api.url)).stdout
    assert "customer-email\n  + version 2" in shown
    assert "~ label production: 1 -> 2: declared in prompts/customer-email.yaml:7" in shown

    # 2: merge; CI publishes; production serves the new version.
    example_repo.git("checkout", "-q", "main")
    example_repo.git("merge", "-q", "--no-ff", "-m", "Merge shorter", "shorter")
    ok(publish(example_repo, api.url))
    email = api.get("customer-email")
    assert (email["version"], email["hash"]) == (2, file_hash(example_repo, "customer-email"))
    assert email["prompt"].startswith("Write a short")


# 3 -----------------------------------------------------------------------------------------


def test_3_stage_then_promote(git_repo: GitRepo, shared_api: Api) -> None:
    git_repo.write_prompt("stage-promote", text(1, "Hello {{name}}"))
    git_repo.commit("greet v1")
    ok(publish(git_repo, shared_api.url))
    git_repo.write_prompt("stage-promote", text(2, "Hi {{name}}!", "{production: 1, staging: 2}"))
    git_repo.commit("greet v2 on staging")
    ok(publish(git_repo, shared_api.url))
    assert (shared_api.served("stage-promote"), shared_api.served("stage-promote", "staging")) == (
        1,
        2,
    )
    git_repo.write_prompt("stage-promote", text(2, "Hi {{name}}!", "[production, staging]"))
    promote = git_repo.commit("promote greet v2")
    out = ok(publish(git_repo, shared_api.url)).stdout
    assert "~ label production: 1 -> 2" in out
    assert (shared_api.served("stage-promote"), shared_api.served("stage-promote", "staging")) == (
        2,
        2,
    )
    moves = [
        (e["label"], e["from_version"], e["to_version"])
        for e in shared_api.label_events("stage-promote")
    ]
    assert moves[0] == ("production", 1, 2)
    assert shared_api.label_events("stage-promote")[0]["commit"] == promote


# 4 -----------------------------------------------------------------------------------------


def test_4_reverting_a_content_change_points_back_without_a_new_version(
    git_repo: GitRepo, api: Api
) -> None:
    git_repo.write_prompt("greet", text(1, "Hello"))
    git_repo.commit("v1")
    ok(publish(git_repo, api.url))
    git_repo.write_prompt("greet", text(2, "Hello, world"))
    git_repo.commit("v2")
    ok(publish(git_repo, api.url))
    assert api.served("greet") == 2
    git_repo.git("revert", "--no-edit", "HEAD")
    out = ok(publish(git_repo, api.url)).stdout
    assert "+ version" not in out
    assert api.served("greet") == 1
    assert api.get("greet")["prompt"] == "Hello"
    assert [v["version"] for v in api.versions("greet")] == [2, 1]
    # `latest` is the file's version, not the highest the registry has.
    assert api.served("greet", "latest") == 1
    ok(publish(git_repo, api.url, "--dry-run"))
    assert ok(plan(git_repo, api.url, "--check")).exit_code == 0


def test_4_reverting_a_promotion_moves_the_label_back(git_repo: GitRepo, shared_api: Api) -> None:
    git_repo.write_prompt("promo-revert", text(1, "Hello"))
    git_repo.commit("v1")
    ok(publish(git_repo, shared_api.url))
    git_repo.write_prompt("promo-revert", text(2, "Hi", "{production: 1, staging: 2}"))
    git_repo.commit("stage v2")
    ok(publish(git_repo, shared_api.url))
    git_repo.write_prompt("promo-revert", text(2, "Hi", "[production, staging]"))
    git_repo.commit("promote v2")
    ok(publish(git_repo, shared_api.url))
    assert shared_api.served("promo-revert") == 2
    git_repo.git("revert", "--no-edit", "HEAD")
    ok(publish(git_repo, shared_api.url))
    assert (shared_api.served("promo-revert"), shared_api.served("promo-revert", "staging")) == (
        1,
        2,
    )
    assert [v["version"] for v in shared_api.versions("promo-revert")] == [2, 1]


# 5 -----------------------------------------------------------------------------------------


def _history_repo_with_incremental_publishes(repo: GitRepo, url: str) -> None:
    steps: list[tuple[str, dict[str, str | None]]] = [
        ("first", {"a": text(1, "A1"), "b": text(1, "B1", extra="tags: [x]\n")}),
        ("a v2 staged", {"a": text(2, "A2", "{production: 1, staging: 2}")}),
        ("a v2 promoted", {"a": text(2, "A2", "[production, staging]")}),
        (
            "c added, b retagged",
            {"c": text(1, "C1", "[beta]"), "b": text(1, "B1", extra="tags: [y]\n")},
        ),
        ("a v3", {"a": text(3, "A3")}),
    ]
    for message, files in steps:
        for name, body in files.items():
            repo.write_prompt(name, body or "")
        repo.commit(message)
        ok(publish(repo, url))
    repo.git("revert", "--no-edit", "HEAD")  # a back to v2
    ok(publish(repo, url))
    repo.remove("prompts/c.yaml")
    repo.commit("drop c")
    ok(publish(repo, url, "--prune"))
    # A branch of two commits, merged: CI publishes the merge only.
    repo.git("checkout", "-q", "-b", "feature")
    repo.write_prompt("b", text(2, "B2 draft"))
    repo.commit("b v2 draft")
    repo.write_prompt("b", text(2, "B2 final"))
    repo.commit("b v2 final")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    ok(publish(repo, url, "--prune"))
    # A commit whose publish fails, then the fix.
    repo.write_prompt("a", "version: [\n")
    repo.commit("broken a")
    assert publish(repo, url, "--prune").exit_code == 1
    repo.write_prompt("a", text(4, "A4"))
    repo.commit("a v4")
    ok(publish(repo, url, "--prune"))


def _comparable(api: Api) -> dict[str, Any]:
    state = api.state()
    return {
        "state": state.model_dump(),
        "versions": {
            name: [(v["version"], v["hash"], v["commit"]) for v in api.versions(name)]
            for name in state.prompts
        },
        "labels": {
            name: [
                (e["label"], e["from_version"], e["to_version"], e["commit"])
                for e in api.label_events(name)
            ]
            for name in state.prompts
        },
    }


def test_5_history_replay_rebuilds_the_same_registry(
    git_repo: GitRepo, api: Api, second_db_url: str
) -> None:
    _history_repo_with_incremental_publishes(git_repo, api.url)
    incremental = _comparable(api)
    with AppServer(second_db_url) as empty:
        result = ok(publish(git_repo, empty.url, "--history", "--prune"))
        assert "Replayed 10 commits: published 9 of them" in result.stdout
        assert "1 skipped (their publish would have been refused)" in result.stdout
        assert "'broken a': skipped" in result.stderr
        assert _comparable(Api(empty.url)) == incremental
        # Again: the registry is not empty any more, so --history refuses.
        again = publish(git_repo, empty.url, "--history")
        assert again.exit_code == 1
        assert "rebuilds an empty registry" in again.output


# 6 -----------------------------------------------------------------------------------------


def test_6_publishing_twice_changes_nothing_and_check_finds_drift(
    example_repo: GitRepo, api: Api
) -> None:
    ok(publish(example_repo, api.url))
    before = _comparable(api)
    second = ok(publish(example_repo, api.url))
    assert "No changes: the registry matches git (4 prompts)." in second.stdout
    assert "Nothing to publish." in second.stdout
    assert _comparable(api) == before
    ok(plan(example_repo, api.url, "--check"))

    # A label moved by hand through the API.
    moved = api.publish(
        PublishRequest(
            labels=[LabelMove(name="summarize", label="production", version=2, expected=1)]
        )
    )
    assert moved.status_code == 200, moved.text
    check = plan(example_repo, api.url, "--check")
    assert check.exit_code == 1
    assert "~ label production: 2 -> 1: declared in prompts/summarize.yaml" in check.stdout
    assert "`promptrail publish` applies the changes" in check.stderr
    ok(publish(example_repo, api.url))
    ok(plan(example_repo, api.url, "--check"))

    # A version added outside git.
    content = {"type": "text", "prompt": "stray", "config": {}}
    stray = api.publish(
        PublishRequest(
            versions=[
                VersionUpload(
                    name="customer-email",
                    version=7,
                    type="text",
                    prompt="stray",
                    hash=content_hash(content),
                )
            ]
        )
    )
    assert stray.status_code == 200, stray.text
    check = plan(example_repo, api.url, "--check")
    assert check.exit_code == 1
    assert "version 7 is in the registry but not in the git history" in check.stdout
    assert "Versions published outside git stay" in check.stderr


# 7 -----------------------------------------------------------------------------------------


def test_7_two_branches_claiming_one_version_second_is_refused_whole(
    git_repo: GitRepo, shared_api: Api
) -> None:
    git_repo.write_prompt("clash", text(1, "Hello"))
    git_repo.write_prompt("clash-other", text(1, "Other"))
    git_repo.commit("v1")
    ok(publish(git_repo, shared_api.url))
    git_repo.git("checkout", "-q", "-b", "b")
    git_repo.write_prompt("clash", text(2, "Hello from B"))
    git_repo.write_prompt("clash-other", text(2, "Other from B"))
    git_repo.commit("B claims v2")
    git_repo.git("checkout", "-q", "main")
    git_repo.git("checkout", "-q", "-b", "a")
    git_repo.write_prompt("clash", text(2, "Hello from A"))
    git_repo.commit("A claims v2")
    ok(publish(git_repo, shared_api.url))
    before = _comparable(shared_api)

    git_repo.git("checkout", "-q", "b")
    refused = publish(git_repo, shared_api.url)
    assert refused.exit_code == 1
    assert (
        "prompts/clash.yaml:1: version 2 of 'clash' is already published with other content"
        in refused.stderr
    )
    assert "run `promptrail version --registry URL` to bump it (to 3 or above)" in refused.stderr
    assert _comparable(shared_api) == before  # `other` v2 was not published either
    assert shared_api.served("clash-other") == 1

    # Doing what the message says: a number above every one the registry has.
    bumped = run_cli("version", "--registry", shared_api.url, cwd=git_repo.path)
    assert bumped.exit_code == 0, bumped.output
    assert "clash: 2 → 3" in bumped.stdout
    assert "clash-other" not in bumped.stdout  # its v2 is not taken in the registry
    git_repo.commit("B renumbered")
    ok(publish(git_repo, shared_api.url))
    assert shared_api.get("clash")["prompt"] == "Hello from B"
    assert shared_api.served("clash") == 3
    assert shared_api.served("clash-other") == 2


def test_7_a_stale_plan_gets_409_and_nothing_is_applied(git_repo: GitRepo, shared_api: Api) -> None:
    git_repo.write_prompt("race", text(1, "Hello"))
    git_repo.commit("v1")
    ok(publish(git_repo, shared_api.url))
    git_repo.write_prompt("race", text(2, "Hello again"))
    git_repo.commit("v2")

    class RaceRegistry(RegistryClient):
        """Someone else publishes between our plan and our request."""

        def publish(self, request: PublishRequest) -> Any:
            other = PublishRequest(
                versions=[
                    VersionUpload(
                        name="race",
                        version=2,
                        type="text",
                        prompt="theirs",
                        hash=content_hash({"type": "text", "prompt": "theirs", "config": {}}),
                    )
                ],
                labels=[LabelMove(name="race", label="production", version=2, expected=1)],
            )
            assert shared_api.publish(other).status_code == 200
            return super().publish(request)

    before_theirs = _comparable(shared_api)
    with RaceRegistry(shared_api.url, None) as registry, pytest.raises(Conflict) as caught:
        publish_lib(PromptRepo(git_repo.path), registry)
    message = str(caught.value)
    assert "Nothing was published" in message
    assert "re-run `promptrail publish`" in message
    after = _comparable(shared_api)
    assert after != before_theirs
    assert shared_api.get("race")["prompt"] == "theirs"  # theirs whole, ours not at all
    refused = publish(git_repo, shared_api.url)
    assert refused.exit_code == 1
    assert "already published with other content" in refused.stderr


# 8 -----------------------------------------------------------------------------------------


def test_8_preview_label_serves_the_branch_and_is_removed_on_close(
    example_repo: GitRepo, api: Api
) -> None:
    for label in ("production", "staging", "PR-1"):  # previews carry the preview prefix
        refused = publish(example_repo, api.url, "--preview-label", label)
        assert refused.exit_code == 2, refused.output
        assert "preview" in refused.stderr or "not a valid label" in refused.stderr
    assert api.state().prompts == {}
    ok(publish(example_repo, api.url))
    example_repo.git("checkout", "-q", "-b", "pr-123")
    email = example_repo.path / "prompts/customer-email.yaml"
    email.write_text(
        email.read_text().replace("version: 1", "version: 2").replace("Write a", "Draft a")
    )
    example_repo.commit("PR: draft emails")
    shown = ok(publish(example_repo, api.url, "--preview-label", "pr-123")).stdout
    assert "customer-email\n  + preview of version 2 [" in shown
    assert "Preview pr-123: 1 prompt to upload, 1 label change (3 of 4 prompts unchanged)." in shown
    preview = api.get("customer-email", label="pr-123")
    assert (preview["version"], preview["hash"]) == (2, file_hash(example_repo, "customer-email"))
    assert preview["prompt"].startswith("Draft a")
    assert api.get("summarize", label="pr-123") is None  # unchanged prompts are not previewed
    assert api.served("customer-email") == 1
    assert [v["version"] for v in api.versions("customer-email")] == [1]  # no version created

    # main moves on; its publish leaves the preview alone.
    example_repo.git("checkout", "-q", "main")
    summarize = example_repo.path / "prompts/summarize.yaml"
    summarize.write_text(
        summarize.read_text().replace("{production: 1, staging: 2}", "[production, staging]")
    )
    example_repo.commit("promote summarize v2")
    out = ok(publish(example_repo, api.url)).stdout
    assert "pr-123" not in out
    assert api.get("customer-email", label="pr-123")["prompt"].startswith("Draft a")
    ok(plan(example_repo, api.url, "--check"))

    # The PR is closed.
    ok(publish(example_repo, api.url, "--remove-preview", "pr-123"))
    assert api.get("customer-email", label="pr-123") is None
    assert api.served("customer-email") == 1


def _key(db_url: str, *scopes: str) -> str:
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    created = ok(run_cli("keys", "create", "--db", db_url, *args))
    return str(created.stdout.strip())


def test_8_a_pull_request_key_publishes_previews_but_never_production(
    example_repo: GitRepo, db_url: str
) -> None:
    deploy_key, pr_key = _key(db_url, "deploy"), _key(db_url, "publish")
    with AppServer(db_url, auth=True) as server:
        reader = Api(server.url, deploy_key)
        ok(publish(example_repo, server.url, "--api-key", deploy_key))
        email = example_repo.path / "prompts/customer-email.yaml"
        email.write_text(
            email.read_text().replace("version: 1", "version: 2").replace("Write a", "Draft a")
        )
        example_repo.commit("PR: draft emails")

        ok(publish(example_repo, server.url, "--preview-label", "pr-7", "--api-key", pr_key))
        assert reader.get("customer-email", label="pr-7")["prompt"].startswith("Draft a")

        before = reader.state()
        refused = publish(example_repo, server.url, "--api-key", pr_key)
        assert refused.exit_code == 1
        assert "deploy" in refused.stderr
        assert "production" in refused.stderr
        assert reader.state() == before
        assert reader.served("customer-email") == 1
        anonymous = publish(example_repo, server.url)
        assert anonymous.exit_code == 1
        assert reader.state() == before

        ok(publish(example_repo, server.url, "--remove-preview", "pr-7", "--api-key", pr_key))
        assert reader.get("customer-email", label="pr-7") is None
