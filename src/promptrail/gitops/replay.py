"""`publish --history`: rebuild an empty registry from git alone.

Each first-parent commit that touched the prompts folder is published in order, oldest
first, exactly as a CI job publishing every commit of the main branch would have done: the
same version numbers, the same label moves in the same order, each recorded with its
commit. Only the prompts a commit changed are re-planned, against the state the earlier
publishes left (simulated locally, so the registry is asked for its state once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from promptrail.api.registry import RegistryState
from promptrail.errors import Problem, ProblemsFound
from promptrail.gitops.plan import Plan, apply_request, make_plan
from promptrail.gitops.planview import plural
from promptrail.gitops.publish import Progress, Published, Registry, send, source_from_env
from promptrail.repo.git import Commit
from promptrail.repo.promptfile import LoadedPrompt
from promptrail.repo.repository import PromptRepo


@dataclass
class Replay:
    commits: int = 0  # commits that touched the prompts folder
    published: list[Published] = field(default_factory=list)
    skipped: list[tuple[Commit, list[Problem]]] = field(default_factory=list)


def main_line_commits(repo: PromptRepo) -> list[Commit]:
    """Commits of the current branch's first-parent line that touched the prompts, oldest first."""
    if not repo.has_commits():
        return []
    return repo.git.commits("HEAD", repo.prompts_rel, first_parent=True)


def replay_history(
    repo: PromptRepo,
    registry: Registry,
    *,
    prune: bool = False,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Replay:
    """Publish every commit's prompts in order into an empty registry.

    A commit whose publish would have been refused (a file that does not parse, a version
    number reused for other content) is skipped, as it would have failed in CI: its
    changes are published with the next commit that is accepted.
    """
    state = registry.state()
    if state.prompts:
        raise ProblemsFound(
            [
                Problem(
                    f"--history rebuilds an empty registry, and this one already has "
                    f"{len(state.prompts)} prompts; publish without --history, or point "
                    "--registry at an empty one",
                    code="not-empty",
                )
            ]
        )
    commits = main_line_commits(repo)
    replay = Replay(commits=len(commits))
    history = repo.history() if commits else {}
    simulated = RegistryState(
        protected_labels=state.protected_labels, preview_prefix=state.preview_prefix
    )
    published: dict[str, str] = {}  # name -> blob, as of the last accepted commit
    for number, commit in enumerate(commits, 1):
        index, _ = repo.index(commit.sha)
        blobs = {name: entry.blob for name, entry in index.items()}
        changed = {n for n in blobs.keys() | published.keys() if blobs.get(n) != published.get(n)}
        if not changed:
            continue
        prompts = repo.load(commit.sha, names=sorted(n for n in changed if n in blobs))
        unreadable = {p.name for p in prompts.problems if p.name}
        as_of = history
        pinned = _pins_from_git(prompts.prompts, simulated)
        if pinned:  # what those numbers meant as of this commit, as its CI publish read it
            as_of = {**history, **repo.history(pinned, ref=commit.sha)}
        plan = make_plan(
            prompts.prompts,
            simulated,
            history=as_of,
            prune=prune,
            names=changed,
            unreadable=unreadable,
        )
        plan.problems[:0] = prompts.problems
        where = f"[{number}/{len(commits)}] {commit.sha[:7]} {commit.message[:60]!r}"
        if plan.problems:
            replay.skipped.append((commit, plan.problems))
            if progress:
                progress(f"{where}: skipped, its publish would be refused: {plan.problems[0]}")
            continue
        published = blobs
        if plan.empty:
            continue
        source = source_from_env(repo, env, commit=commit.sha)
        request = plan.to_request(source)
        result = None if dry_run else send(registry, request)
        simulated = apply_request(simulated, request)
        replay.published.append(Published(plan, result, source))
        if progress:
            progress(f"{where}: {_counts(plan)}")
    return replay


def _pins_from_git(prompts: Mapping[str, LoadedPrompt], state: RegistryState) -> list[str]:
    """Prompts whose labels pin a version the registry lacks: its content comes from git.

    The full history read once may hold later commits; a pin takes the last content its
    number had *before* the commit being replayed, so these few are read again up to it.
    """
    names = []
    for name, prompt in prompts.items():
        known = state.prompts.get(name)
        have = known.versions if known else {}
        pins = prompt.spec.label_map().values()
        if any(v != prompt.version and v not in have for v in pins):
            names.append(name)
    return sorted(names)


def _counts(plan: Plan) -> str:
    parts = []
    if plan.versions:
        parts.append(plural(len(plan.versions), "version"))
    if plan.labels:
        parts.append(plural(len(plan.labels), "label change"))
    if plan.metadata:
        parts.append(plural(len(plan.metadata), "metadata update"))
    return ", ".join(parts)
