"""Publishing: the prompts in git, planned against the registry, sent as one request.

The registry applies a publish in one transaction, and only if its state still matches
the one the plan was made against; a 409 means someone published in between, and the
fix is to plan again (re-run the command), never to retry blindly.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from promptrail.api.registry import PublishRequest, PublishResult, PublishSource, RegistryState
from promptrail.errors import Conflict, ProblemsFound
from promptrail.gitops.plan import Note, Plan, history_needed, make_plan
from promptrail.gitops.planview import plural
from promptrail.repo.repository import PromptRepo, PromptSet

Progress = Callable[[str], None]

# Past this many prompts, a publish says what it is doing while it works.
PROGRESS_THRESHOLD = 200


class Registry(Protocol):
    """What publishing needs from `registry.RegistryClient`."""

    def state(self, names: list[str] | None = None) -> RegistryState: ...

    def publish(self, request: PublishRequest) -> PublishResult: ...


@dataclass
class Published:
    plan: Plan
    result: PublishResult | None  # None when nothing was sent (empty plan)
    source: PublishSource


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- planning against a repository ------------------------------------------------------


def plan_repo(
    repo: PromptRepo,
    state: RegistryState,
    *,
    ref: str | None = None,
    prune: bool = False,
    thorough: bool = False,
    progress: Progress | None = None,
) -> Plan:
    """Load the prompts at `ref` (None: the working tree), read the git history that the
    plan needs (only that), and compare with `state`."""
    prompts = load_prompts(repo, progress, ref)
    say = progress if progress and len(prompts) >= PROGRESS_THRESHOLD else None
    needed = history_needed(prompts.prompts, state, thorough=thorough)
    history = {}
    if needed and repo.has_commits():
        started = time.perf_counter()
        history = repo.history(needed, ref=ref or "HEAD")
        if say:
            say(f"read the git history of {plural(len(needed), 'prompt')} in {_since(started)}")
    unreadable = {p.name for p in prompts.problems if p.name}
    plan = make_plan(prompts.prompts, state, history=history, prune=prune, unreadable=unreadable)
    plan.problems[:0] = prompts.problems
    plan_datasets(plan, repo, state, ref)
    return plan


def plan_datasets(plan: Plan, repo: PromptRepo, state: RegistryState, ref: str | None) -> None:
    """Add the datasets whose content the registry lacks; a broken one blocks the publish."""
    from promptrail.api.eval import DatasetUpload
    from promptrail.repo.datasets import load_datasets

    datasets = load_datasets(repo, ref)
    plan.problems.extend(datasets.problems)
    commit = repo.resolve(ref) if ref else None
    for name, dataset in sorted(datasets.datasets.items()):
        if dataset.hash not in state.datasets.get(name, []):
            plan.datasets.append(DatasetUpload.model_validate(dataset.wire(commit)))
    # A dataset the registry holds with no file in git was made outside it (the
    # Langfuse-compatible API creates them): drift, like a version published outside git.
    for name in sorted(set(state.datasets) - set(datasets.datasets)):
        plan.drift.append(
            Note(name, f"dataset {name} is in the registry but not in git (datasets/{name}.yaml)")
        )


def load_prompts(
    repo: PromptRepo, progress: Progress | None = None, ref: str | None = None
) -> PromptSet:
    """Every prompt at `ref` (None: the working tree), saying how long it took if many."""
    started = time.perf_counter()
    prompts = repo.load(ref)
    if progress and len(prompts) >= PROGRESS_THRESHOLD:
        progress(f"read {len(prompts)} prompt files in {_since(started)}")
    return prompts


def _since(started: float) -> str:
    return f"{time.perf_counter() - started:.1f} s"


# -- where a publish comes from ---------------------------------------------------------


def source_from_env(
    repo: PromptRepo, env: Mapping[str, str] | None = None, commit: str | None = None
) -> PublishSource:
    """The commit, ref and author being published, and the CI run doing it (GitHub Actions
    variables when set)."""
    env = os.environ if env is None else env
    sha = commit or env.get("GITHUB_SHA") or None
    ref = env.get("GITHUB_REF") or None
    author = message = None
    if repo.has_commits():
        git = repo.git
        info = git.commit(sha or "HEAD") or (git.commit("HEAD") if sha else None)
        if info:
            sha = sha or info.sha
            if info.sha == sha:
                author, message = info.author, info.message
        if ref is None and commit is None:
            ref = git.symbolic_ref("HEAD")
    server, repository = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY")
    run_id = env.get("GITHUB_RUN_ID")
    repository_url = f"{server.rstrip('/')}/{repository}" if server and repository else None
    ci_run_url = f"{repository_url}/actions/runs/{run_id}" if repository_url and run_id else None
    return PublishSource(
        commit=sha,
        ref=ref,
        author=author,
        message=message,
        ci_run_url=ci_run_url,
        repository_url=repository_url,
    )


# -- publishing ----------------------------------------------------------------------------


def publish(
    repo: PromptRepo,
    registry: Registry,
    *,
    ref: str | None = None,
    prune: bool = False,
    dry_run: bool = False,
    source: PublishSource | None = None,
    progress: Progress | None = None,
) -> Published:
    """Plan the prompts at `ref` against the registry and send the plan as one request.

    Raises ProblemsFound when the plan has problems (nothing is sent) and Conflict when
    the registry refuses it (nothing is applied).
    """
    started = time.perf_counter()
    state = registry.state()
    plan = plan_repo(repo, state, ref=ref, prune=prune, progress=progress)
    many = len(plan.changed_names()) >= PROGRESS_THRESHOLD
    if progress and many:
        progress(
            f"planned against {plural(len(state.prompts), 'registry prompt')} in {_since(started)}"
        )
    if plan.problems:
        raise ProblemsFound(plan.problems)
    source = source or source_from_env(repo, commit=repo.resolve(ref) if ref else None)
    if plan.empty:
        return Published(plan, None, source)
    request = plan.to_request(source, dry_run=dry_run)
    if progress and many:
        progress(
            f"sending {plural(len(request.versions), 'version')}, "
            f"{plural(len(request.labels), 'label change')} "
            f"for {plural(len(plan.changed_names()), 'prompt')} in one request..."
        )
    started = time.perf_counter()
    result = send(registry, request)
    if progress and many:
        progress(f"applied in {_since(started)}")
    return Published(plan, result, source)


def send(registry: Registry, request: PublishRequest) -> PublishResult:
    """One publish request; a 409 becomes a Conflict that says what to do."""
    try:
        return registry.publish(request)
    except Conflict as exc:
        raise Conflict(
            f"the registry refused the publish: {exc}\n"
            "Nothing was published (a publish is applied whole or not at all). The registry "
            "changed since the plan was made, or a version number is taken: re-run "
            "`promptrail publish` to plan against its current state.",
            exc.status,
        ) from None
