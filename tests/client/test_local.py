"""A client with no registry: a prompts folder or a snapshot alone (dev, tests, air-gapped)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from conftest import EXAMPLE_PROMPTS, GitRepo, run_cli
from promptrail.client import Client
from promptrail.errors import PromptNotFound, RegistryUnavailable
from waiting import wait_until

from .conftest import in_forked_child


def test_folder_serves_labels_from_the_files(example_repo: GitRepo) -> None:
    client = Client(prompts_dir=example_repo.path)
    email = client.get_prompt("customer-email")
    assert (email.version, email.source, email.label) == (1, "folder", "production")
    assert email.compile(tone="warm", customer_name="Ann", topic="x").startswith("Write a warm")
    staging = client.get_prompt("summarize", label="staging")
    assert (staging.version, staging.labels) == (2, ("latest", "staging"))
    # production is pinned to version 1 in the file: its content comes from git history
    production = client.get_prompt("summarize")
    assert production.version == 1
    assert "three sentences" in production.prompt
    assert production.hash != staging.hash
    assert client.get_prompt("summarize", version=1).hash == production.hash


def test_pinned_label_outside_git_is_skipped_with_a_reason(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE_PROMPTS, tmp_path / "prompts")
    client = Client(prompts_dir=tmp_path)
    assert client.get_prompt("summarize", label="staging").version == 2
    with pytest.raises(PromptNotFound) as caught:
        client.get_prompt("summarize")
    message = str(caught.value)
    assert "'summarize' (label 'production')" in message
    assert "version 1 of summarize is not in the folder (not a git repository)" in message
    assert "fallback=" in message
    served = client.get_prompt("summarize", fallback="Summarize: {{text}}")
    assert (served.source, served.version) == ("fallback", None)


def test_environment_configures_the_sources(
    example_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTRAIL_PROMPTS_DIR", str(example_repo.path))
    assert Client().get_prompt("support/reply").source == "folder"
    assert Client(prompts_dir="").prompts_dir is None  # "" switches a source off


def test_nothing_configured_says_how_to_fix_it() -> None:
    with pytest.raises(RegistryUnavailable) as caught:
        Client().get_prompt("support/triage")
    message = str(caught.value)
    for hint in ("PROMPTRAIL_URL", "PROMPTRAIL_SNAPSHOT", "PROMPTRAIL_PROMPTS_DIR", "fallback="):
        assert hint in message
    chat = Client().get_prompt("support/triage", fallback=[{"role": "user", "content": "{{t}}"}])
    assert chat.compile(t="hi") == [{"role": "user", "content": "hi"}]


def test_cache_hit_returns_the_same_object_without_reading_files(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE_PROMPTS, tmp_path / "prompts")
    client = Client(prompts_dir=tmp_path)
    first = client.get_prompt("customer-email")
    shutil.rmtree(tmp_path / "prompts")
    for _ in range(1000):
        assert client.get_prompt("customer-email") is first


def test_folder_edits_show_after_the_ttl(git_repo: GitRepo) -> None:
    git_repo.write_prompt("greet", "version: 1\nprompt: Hi\nlabels: [production]\n")
    client = Client(prompts_dir=git_repo.path)
    assert client.get_prompt("greet", cache_ttl=0.05).prompt == "Hi"
    git_repo.write_prompt("greet", "version: 2\nprompt: Hello\nlabels: [production]\n")
    time.sleep(0.06)
    # Past the TTL the old prompt is answered at once while a refresh reads the file again.
    assert client.get_prompt("greet", cache_ttl=0.05).prompt == "Hi"
    wait_until(
        lambda: client.get_prompt("greet", cache_ttl=0.05).prompt,
        lambda prompt: prompt == "Hello",
        every=0.01,
        what="the refresh picking up the edit",
    )
    assert client.get_prompt("greet", cache_ttl=0.05).version == 2


def test_snapshot_from_git_boots_a_client_with_real_versions(
    example_repo: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "app" / "prompts.snapshot.json"
    result = run_cli("snapshot", "--from-git", "-o", str(out), cwd=example_repo.path)
    assert result.exit_code == 0, result.output
    assert "4 prompts" in result.stderr
    document = json.loads(out.read_text())
    assert document["format"] == "promptrail-snapshot/1"
    assert document["prompts"]["summarize"]["labels"] == {
        "latest": 2,
        "production": 1,
        "staging": 2,
    }
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left behind
    shutil.rmtree(example_repo.path)  # the app has the snapshot and nothing else

    client = Client(snapshot=out)
    production = client.get_prompt("summarize")
    assert (production.version, production.source, production.label) == (
        1,
        "snapshot",
        "production",
    )
    assert (
        client.get_prompt("summarize", version=2).hash
        == client.get_prompt("summarize", label="staging").hash
    )
    triage = client.get_prompt("support/triage")
    assert triage.compile(product="A", ticket="t", history=[])[-1] == {
        "role": "user",
        "content": "t",
    }
    with pytest.raises(PromptNotFound, match=r"snapshot .*prompts.snapshot.json: not in it"):
        client.get_prompt("support/triage", label="staging")


def test_snapshot_labels_can_be_chosen(example_repo: GitRepo, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = run_cli(
        "snapshot", "--from-git", "--label", "staging", "-o", str(out), cwd=example_repo.path
    )
    assert result.exit_code == 0, result.output
    prompts = json.loads(out.read_text())["prompts"]
    assert list(prompts) == ["summarize"]
    assert list(prompts["summarize"]["versions"]) == ["2"]


def test_snapshot_from_a_folder_outside_git_reports_what_it_skipped(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE_PROMPTS, tmp_path / "prompts")
    result = run_cli("snapshot", "--from-git", "-o", "s.json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "skipped summarize: label 'production' -> version 1" in result.stderr


def test_snapshot_needs_a_source(tmp_path: Path) -> None:
    result = run_cli("snapshot", "-o", "s.json", cwd=tmp_path)
    assert result.exit_code == 2
    assert "--registry" in result.stderr
    assert "--from-git" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("{not json", "not valid JSON"),
        ('{"format": "other/9", "prompts": {}}', "format 'other/9'"),
    ],
)
def test_unusable_snapshot_is_named_with_the_fix(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "broken.json"
    if content is not None:
        path.write_text(content)
    client = Client(snapshot=path)
    with pytest.raises(PromptNotFound) as caught:
        client.get_prompt("x")
    assert f"snapshot {path}: {message}" in str(caught.value)
    assert "promptrail snapshot" in str(caught.value)
    assert client.get_prompt("x", fallback="fine").source == "fallback"


def test_forked_child_gets_prompts(example_repo: GitRepo) -> None:
    client = Client(prompts_dir=example_repo.path)
    parent = client.get_prompt("customer-email", cache_ttl=0.01)
    time.sleep(0.02)
    client.get_prompt("customer-email", cache_ttl=0.01)  # a background refresh may be running

    def child() -> bool:
        ok = client.get_prompt("summarize", label="staging").version == 2
        return ok and client.get_prompt("customer-email", cache_ttl=0.01).hash == parent.hash

    in_forked_child(child)


def test_a_remembered_failure_is_raised_fresh_each_time() -> None:
    import traceback

    client = Client(snapshot="/nonexistent/snapshot.json")
    depths = []
    for _ in range(50):
        with pytest.raises(PromptNotFound) as caught:
            client.get_prompt("x")
        depths.append(len(traceback.extract_tb(caught.value.__traceback__)))
    assert max(depths) == min(depths)  # no traceback that grows with every call


def test_a_pin_serves_the_content_last_committed_under_its_number(git_repo: GitRepo) -> None:
    # A branch committed a draft of v2 before its final v2; production is pinned to 2.
    git_repo.write_prompt("pinned", 'version: 1\nprompt: "one"\nlabels: [production]\n')
    git_repo.commit("v1")
    git_repo.write_prompt("pinned", 'version: 2\nprompt: "two (draft)"\nlabels: [production]\n')
    git_repo.commit("draft v2")
    git_repo.write_prompt("pinned", 'version: 2\nprompt: "two"\nlabels: [production]\n')
    git_repo.commit("final v2")
    git_repo.write_prompt(
        "pinned", 'version: 3\nprompt: "three"\nlabels: {production: 2, staging: 3}\n'
    )
    git_repo.commit("v3 on staging")

    served = Client(prompts_dir=git_repo.path).get_prompt("pinned")
    assert (served.version, served.prompt, served.source) == (2, "two", "folder")

    out = git_repo.path / "snapshot.json"
    result = run_cli("snapshot", "--from-git", "-o", str(out), cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    booted = Client(snapshot=str(out), prompts_dir="").get_prompt("pinned")
    assert (booted.version, booted.prompt, booted.source) == (2, "two", "snapshot")
