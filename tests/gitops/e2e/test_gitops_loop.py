"""The GitOps loop end to end: this repository's workflow files, played step by step.

A bare "origin", a developer's clone and a fresh runner workspace per workflow run, all
real git; a real registry (`promptrail serve` with auth and keys made by `keys create
--db`); a fake GitHub for the PR comment. Each workflow's `run:` steps are executed by
bash with the GITHUB_* variables a runner sets, in the order a repository would see them:
PR opened, PR updated, merged, a bad change, a revert, a PR closed unmerged, the same
commit published twice, and drift made by hand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import GIT_ENV, ROOT, GitRepo
from fakes.fake_github import FakeGitHub
from promptrail.api.client import RegistryClient
from promptrail.api.registry import LabelMove, PublishRequest
from promptrail.errors import PromptNotFound
from serverproc import ServerProcess

from .actions_runner import ActionsRunner, Event, WorkflowRun

WORKFLOWS = ROOT / ".github" / "workflows"
REPOSITORY = "acme/prompts"
MARKER = "<!-- promptrail-diff -->"
PROMPTRAIL = [sys.executable, "-m", "promptrail.cli.main"]

pytestmark = pytest.mark.slow


def create_key(db_url: str, scope: str) -> str:
    proc = subprocess.run(
        [*PROMPTRAIL, "keys", "create", "--db", db_url, "--scope", scope],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@dataclass
class Loop:
    """The repository's life: a developer's clone, an origin, and runs of the workflows."""

    tmp: Path
    origin: Path
    dev: GitRepo
    runner: ActionsRunner
    registry: RegistryClient
    github: FakeGitHub
    runs: int = 0

    # -- git, as a developer does it ---------------------------------------------------------

    def promptrail(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PROMPTRAIL, *args],
            cwd=self.dev.path,
            capture_output=True,
            text=True,
            check=False,
        )

    def push(self, branch: str) -> str:
        self.dev.git("push", "-q", "--force", "origin", f"{branch}:{branch}")
        return self.dev.git("rev-parse", branch)

    # -- what GitHub does on each event -------------------------------------------------------

    def workspace(self) -> Path:
        """actions/checkout with fetch-depth 0: a full clone of origin."""
        self.runs += 1
        path = self.tmp / f"workspace-{self.runs}"
        _git(self.tmp, "clone", "-q", str(self.origin), str(path))
        return path

    def pull_request(
        self, number: int, branch: str, action: str = "synchronize", merged: bool = False
    ) -> WorkflowRun:
        workspace = self.workspace()
        head = _git(workspace, "rev-parse", f"origin/{branch}")
        # GitHub tests the merge of the branch into its base: refs/pull/N/merge.
        _git(workspace, "checkout", "-q", "--detach", "origin/main")
        _git(workspace, "merge", "-q", "--no-ff", "--no-edit", f"origin/{branch}")
        merge = _git(workspace, "rev-parse", "HEAD")
        changed = _git(workspace, "diff", "--name-only", "origin/main...HEAD").splitlines()
        repo = {"full_name": REPOSITORY}
        payload = {
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "merged": merged,
                "head": {"ref": branch, "sha": head, "repo": repo},
                "base": {"ref": "main", "repo": repo},
            },
            "repository": repo,
        }
        event = Event(
            "pull_request",
            payload,
            ref=f"refs/pull/{number}/merge",
            sha=merge,
            base_ref="main",
            head_ref=branch,
            changed_files=changed,
        )
        workflow = "prompts-pr-closed.yml" if action == "closed" else "prompts-pr.yml"
        return self._play(workflow, event, workspace)

    def push_to_main(self, before: str, event_name: str = "push") -> WorkflowRun:
        workspace = self.workspace()
        sha = _git(workspace, "rev-parse", "HEAD")
        changed = _git(workspace, "diff", "--name-only", before, sha).splitlines()
        payload = {
            "ref": "refs/heads/main",
            "before": before,
            "after": sha,
            "head_commit": {"id": sha, "message": _git(workspace, "log", "-1", "--format=%s")},
            "repository": {"full_name": REPOSITORY},
        }
        event = Event(event_name, payload, "refs/heads/main", sha, changed_files=changed)
        return self._play("prompts-publish.yml", event, workspace)

    def _play(self, workflow: str, event: Event, workspace: Path) -> WorkflowRun:
        run = self.runner.run(WORKFLOWS / workflow, event, workspace)
        # Shown by pytest when the test fails (or with -s): what each step printed.
        print(f"=== {workflow} on {event.name} {event.payload.get('action', '')}")
        print(run.describe())
        return run

    # -- what the registry serves ----------------------------------------------------------

    def served(self, name: str, label: str) -> tuple[int, str] | None:
        try:
            prompt = self.registry.get(name, label=label)
        except PromptNotFound:
            return None
        return prompt.version, prompt.prompt or ""

    def comments(self, number: int) -> list[str]:
        return [c["body"] for c in self.github.comments_of(REPOSITORY, number)]


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


@pytest.fixture
def loop(tmp_path: Path, db_url: str, fake_github: FakeGitHub) -> Iterator[Loop]:
    # As docs/gitops.md says: bootstrap an admin key on the database, the rest via the API.
    admin_key = create_key(db_url, "admin")
    origin = tmp_path / "origin.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    dev = GitRepo(tmp_path / "dev")
    _git(tmp_path, "clone", "-q", str(origin), str(dev.path))
    dev.git("checkout", "-q", "-b", "main")
    fake_github.repositories.add(REPOSITORY)
    log = tmp_path / "server.log"
    with ServerProcess(db_url, auth=True, log_path=log) as server:
        with RegistryClient(server.url, admin_key) as admin:
            deploy_key = admin.create_key(["deploy"], "CI main").key
            preview_key = admin.create_key(["publish"], "CI previews").key
        runner = ActionsRunner(
            repository=REPOSITORY,
            api_url=fake_github.url,
            token=fake_github.token,
            secrets={"PROMPTRAIL_DEPLOY_KEY": deploy_key, "PROMPTRAIL_PREVIEW_KEY": preview_key},
            variables={"PROMPTRAIL_URL": server.url},
            temp=tmp_path / "runner",
        )
        runner.temp.mkdir()
        with RegistryClient(server.url, deploy_key) as registry:
            yield Loop(tmp_path, origin, dev, runner, registry, fake_github)


def write_email(dev: GitRepo, text: str, version: int) -> None:
    dev.write_prompt(
        "customer-email",
        f"""
        # A one-off email to a customer.
        version: {version}
        prompt: "{text}"
        config:
          model: gpt-4o
          temperature: 0.7
        labels: [production]
        """,
    )


V1 = "Write a {{tone}} email to {{customer_name}} about {{topic}}."


# Nine workflow runs, each starting many CLI processes: on a busy machine (a parallel suite
# beside other work) it has run past the suite's default bound of 120 s.
@pytest.mark.timeout(360)
def test_gitops_loop_end_to_end(loop: Loop) -> None:
    dev = loop.dev
    assert GIT_ENV["GIT_AUTHOR_NAME"]  # commits below are made as the conftest's author

    # -- a prompt repository, set up by `promptrail init`, published from main ------------
    assert loop.promptrail("init", "--yes").returncode == 0
    shutil.copytree(ROOT / "prompts" / "support", dev.path / "prompts" / "support")
    shutil.copytree(ROOT / "datasets", dev.path / "datasets")  # what their evals: name
    write_email(dev, V1, 1)
    first = dev.commit("prompts: first version")
    loop.push("main")
    run = loop.push_to_main(_git(dev.path, "hash-object", "-t", "tree", "/dev/null"))
    assert run.ok, run.describe()
    assert loop.served("customer-email", "production") == (1, V1)
    source = loop.registry.versions("customer-email").versions[0]
    assert source.commit == first
    assert source.ci_run_url == f"https://github.com/{REPOSITORY}/actions/runs/{loop.runner.run_id}"

    # -- PR opened: validate, version check, comment, preview ------------------------------
    dev.git("checkout", "-q", "-b", "warmer")
    write_email(dev, "Write a {{tone}}, warm email to {{customer_name}} about {{topic}}.", 1)
    bumped = loop.promptrail("version")
    assert bumped.returncode == 0, bumped.stderr
    assert "version: 2" in (dev.path / "prompts/customer-email.yaml").read_text()
    dev.commit("customer-email: warmer")
    loop.push("warmer")
    run = loop.pull_request(12, "warmer", action="opened")
    assert run.ok, run.describe()
    review = run.jobs["review"]
    assert [s.name for s in review.steps] == [
        "Validate",
        "Check versions against the base branch",
        "Evaluate the changed prompts against the base branch",
        "Comment the diff, the evaluation and production numbers",
        "Publish the preview label pr-12",
    ]
    (comment,) = loop.comments(12)
    assert comment.startswith(MARKER)
    # No LLM key among the secrets: the evaluation says so plainly, and the run passes.
    assert "_no LLM key (secret OPENAI_API_KEY): evaluation skipped_" in comment
    assert "customer-email" in comment
    assert "warm email" in comment
    # The registry was reachable with the preview key: production's numbers are in.
    assert "| `customer-email` | v1 | no calls traced |" in comment
    assert loop.served("customer-email", "pr-12") == (
        2,
        "Write a {{tone}}, warm email to {{customer_name}} about {{topic}}.",
    )
    assert loop.served("customer-email", "production") == (1, V1)  # untouched by the PR

    # -- PR updated: the same comment edited, the preview serves the new content ---------
    warmest = "Write a {{tone}}, very warm email to {{customer_name}} about {{topic}}."
    write_email(dev, warmest, 2)
    assert loop.promptrail("version").returncode == 0  # 2 is taken by the first push: 3
    dev.commit("customer-email: warmer still")
    loop.push("warmer")
    run = loop.pull_request(12, "warmer")
    assert run.ok, run.describe()
    (comment,) = loop.comments(12)
    assert "very warm" in comment
    assert [r.method for r in loop.github.writes()] == ["POST", "PATCH"]
    assert loop.served("customer-email", "pr-12") == (3, warmest)

    # -- merged: the preview label goes, production serves version 2 ----------------------
    dev.git("checkout", "-q", "main")
    before = dev.head()
    dev.git("merge", "-q", "--no-ff", "--no-edit", "warmer")
    merge_commit = loop.push("main")
    run = loop.pull_request(12, "warmer", action="closed", merged=True)
    assert run.ok, run.describe()
    assert loop.served("customer-email", "pr-12") is None
    run = loop.push_to_main(before)
    assert run.ok, run.describe()
    assert loop.served("customer-email", "production") == (3, warmest)

    # -- a bad change: validate fails with an annotation, nothing is published ------------
    state_before = loop.registry.state()
    dev.git("checkout", "-q", "-b", "broken")
    write_email(dev, "Write a {{tone email.", 4)
    dev.commit("customer-email: broken template")
    loop.push("broken")
    run = loop.pull_request(13, "broken", action="opened")
    assert not run.ok
    review = run.jobs["review"]
    assert [s.name for s in review.steps] == ["Validate"]  # later steps skipped
    assert "::error file=prompts/customer-email.yaml,line=" in review.steps[0].stdout
    assert loop.served("customer-email", "pr-13") is None
    assert loop.registry.state() == state_before
    assert loop.comments(13) == []

    # -- revert on main: production back on version 1, no new version --------------------
    dev.git("checkout", "-q", "main")
    dev.git("revert", "--no-edit", "-m", "1", merge_commit)
    before = merge_commit
    loop.push("main")
    run = loop.push_to_main(before)
    assert run.ok, run.describe()
    assert loop.served("customer-email", "production") == (1, V1)
    versions = sorted(v.version for v in loop.registry.versions("customer-email").versions)
    assert versions == [1, 3]  # 2 only ever served the preview

    # -- a PR closed without merging: its preview label is removed ------------------------
    dev.git("checkout", "-q", "-b", "formal")
    write_email(dev, "Write a {{tone}}, formal email to {{customer_name}} about {{topic}}.", 1)
    assert loop.promptrail("version").returncode == 0
    dev.commit("customer-email: formal")
    loop.push("formal")
    run = loop.pull_request(14, "formal", action="opened")
    assert run.ok, run.describe()
    assert loop.served("customer-email", "pr-14") is not None
    run = loop.pull_request(14, "formal", action="closed")
    assert run.ok, run.describe()
    assert loop.served("customer-email", "pr-14") is None
    assert loop.served("customer-email", "production") == (1, V1)

    # -- the same commit published twice: the second run changes nothing ------------------
    dev.git("checkout", "-q", "main")
    state_before = loop.registry.state()
    history_before = loop.registry.label_history("customer-email").events
    run = loop.push_to_main(merge_commit)
    assert run.ok, run.describe()
    assert loop.registry.state() == state_before
    assert loop.registry.label_history("customer-email").events == history_before

    # -- drift made by hand: the scheduled check fails and says what drifted --------------
    loop.registry.publish(
        PublishRequest(
            labels=[LabelMove(name="customer-email", label="production", version=3, expected=1)]
        )
    )
    run = loop.push_to_main(dev.head(), event_name="schedule")
    assert list(run.jobs) == ["drift", "score"]
    assert not run.ok
    (check,) = run.jobs["drift"].steps
    assert check.returncode == 1
    assert "customer-email" in check.output
    assert "production" in check.output
    # The same schedule scores production's traffic; with no LLM key it says so and passes.
    (score,) = run.jobs["score"].steps
    assert score.returncode == 0
    assert "no LLM key (secret OPENAI_API_KEY): scoring skipped" in score.output
