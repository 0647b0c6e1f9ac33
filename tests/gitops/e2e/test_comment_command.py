"""`promptrail comment`: one PR comment, created then updated in place, against a fake GitHub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from fakes.fake_github import FakeGitHub
from promptrail.gitops.github import MAX_BODY

MARKER = "<!-- promptrail-diff -->"


@pytest.fixture
def runner_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_github: FakeGitHub
) -> dict[str, str]:
    """What a pull_request run of GitHub Actions sets, pointed at the fake."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}}))
    env = {
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_REPOSITORY": "acme/prompts",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_TOKEN": "test-token",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def post(tmp_path: Path, body: str, *args: str) -> tuple[int, str]:
    file = tmp_path / "body.md"
    file.write_text(body)
    result = run_cli("comment", "--body-file", str(file), *args)
    return result.exit_code, result.output


def test_comment_is_created_then_updated_in_place(
    runner_env: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.add_comment("acme/prompts", 7, "LGTM", user="reviewer")

    code, output = post(tmp_path, f"{MARKER}\n## promptrail diff\nv1 → v2")
    assert code == 0, output
    assert "created comment on acme/prompts#7" in output
    comments = fake_github.comments_of("acme/prompts", 7)
    assert [c["body"] for c in comments] == ["LGTM", f"{MARKER}\n## promptrail diff\nv1 → v2"]

    code, output = post(tmp_path, f"{MARKER}\n## promptrail diff\nv1 → v3")
    assert code == 0, output
    assert "updated comment" in output
    comments = fake_github.comments_of("acme/prompts", 7)
    assert len(comments) == 2  # the same comment, edited
    assert comments[1]["body"].endswith("v1 → v3")
    assert [(r.method, r.path) for r in fake_github.writes()] == [
        ("POST", "/repos/acme/prompts/issues/7/comments"),
        ("PATCH", f"/repos/acme/prompts/issues/comments/{comments[1]['id']}"),
    ]
    assert all(r.authorization == "Bearer test-token" for r in fake_github.log)

    code, output = post(tmp_path, f"{MARKER}\n## promptrail diff\nv1 → v3")
    assert code == 0, output
    assert "unchanged" in output
    assert len(fake_github.writes()) == 2  # same body: no write


def test_comment_adds_the_marker_and_finds_it_on_a_later_page(
    runner_env: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    for i in range(130):
        fake_github.add_comment("acme/prompts", 7, f"chatter {i}")
    code, output = post(tmp_path, "first body without a marker")
    assert code == 0, output
    created = fake_github.comments_of("acme/prompts", 7)[-1]
    assert created["body"] == f"{MARKER}\nfirst body without a marker"
    for i in range(100):
        fake_github.add_comment("acme/prompts", 7, f"more chatter {i}")

    code, output = post(tmp_path, "second body")
    assert code == 0, output
    comments = fake_github.comments_of("acme/prompts", 7)
    assert len(comments) == 231
    assert comments[130]["body"] == f"{MARKER}\nsecond body"
    pages = [r.query.get("page", ["1"])[0] for r in fake_github.log if r.method == "GET"]
    assert pages[-3:] == ["1", "2", "3"]  # followed the Link header to the end


def test_comment_custom_marker_keeps_two_comments_apart(
    runner_env: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert post(tmp_path, "diff")[0] == 0
    assert post(tmp_path, "eval", "--marker", "<!-- evals -->")[0] == 0
    assert post(tmp_path, "eval 2", "--marker", "<!-- evals -->")[0] == 0
    bodies = [c["body"] for c in fake_github.comments_of("acme/prompts", 7)]
    assert bodies == [f"{MARKER}\ndiff", "<!-- evals -->\neval 2"]


def test_comment_reads_the_body_from_stdin(
    runner_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "promptrail.cli.main", "comment", "--pr", "12"],
        input=f"{MARKER}\npiped",
        capture_output=True,
        text=True,
        env={**os.environ, **runner_env},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert fake_github.comments_of("acme/prompts", 12)[0]["body"] == f"{MARKER}\npiped"


def test_comment_cuts_a_body_longer_than_github_accepts(
    runner_env: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert post(tmp_path, "x" * (MAX_BODY + 5000))[0] == 0
    body = fake_github.comments_of("acme/prompts", 7)[0]["body"]
    assert len(body) <= MAX_BODY
    assert body.startswith(MARKER)
    assert "cut" in body[-200:]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("bad-token", ["401", "GITHUB_TOKEN"]),
        ("unknown-repo", ["404", "acme/other#7"]),
        ("rate-limited", ["rate limit", "60 s"]),
        ("read-only", ["403", "pull-requests: write", "forks"]),
        ("no-token", ["GITHUB_TOKEN is not set"]),
    ],
)
def test_comment_errors_say_what_to_do(
    setup: str,
    expected: list[str],
    runner_env: dict[str, str],
    fake_github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if setup == "bad-token":
        monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    elif setup == "unknown-repo":
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/other")
    elif setup == "rate-limited":
        fake_github.rate_limited = True
    elif setup == "read-only":
        fake_github.read_only = True
    else:
        monkeypatch.delenv("GITHUB_TOKEN")
    code, output = post(tmp_path, "body")
    assert code == (2 if setup == "no-token" else 1), output
    for text in expected:
        assert text in output
    assert "Traceback" not in output
    assert fake_github.comments_of("acme/prompts", 7) == []


def test_comment_without_a_pull_request_is_a_usage_error(
    runner_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    push_event = tmp_path / "push.json"
    push_event.write_text(json.dumps({"ref": "refs/heads/main"}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(push_event))
    code, output = post(tmp_path, "body")
    assert code == 2
    assert "not about a pull request" in output
    assert "--pr N" in output


def test_comment_unreachable_github_is_a_clear_error(
    runner_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # nothing listens there
    code, output = post(tmp_path, "body")
    assert code == 1
    assert "cannot reach GitHub at http://127.0.0.1:9" in output
