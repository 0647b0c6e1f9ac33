"""Every rule a prompt repository must pass, all problems collected in one run.

Rules, by `Problem.code` (warnings are listed in WARNING_CODES; everything else fails):

- from the loader: `syntax` (YAML, encoding), `schema` (types, unknown keys with a
  "did you mean"), `name` (a file name that is not a valid prompt name), `name-clash`
  (two files, one name).
- per file: `template` (a template that does not parse, with its line in the file),
  `placeholder-duplicate`, `placeholder-clash` (a placeholder named like a `{{variable}}`),
  `label-duplicate`, `label-name`, `label-latest` (set by hand), `label-preview` (a label
  with the registry's preview prefix, `pr-`), `label-ahead` (a pin to a
  version above the file's), `no-model` (warning), `tag-duplicate` (warning).
- against git: `label-pin-unknown` (a pin to a version the prompt never had),
  `version-not-bumped` (content changed since `--base`, version not higher),
  `version-lowered`, `version-reused` (a number that had other content in history),
  `version-without-change` (warning: a new number for the same content), `not-git`.
- against the registry (when its state is given): `registry-conflict`.
- evaluation (datasets and `evals:` blocks): see `promptrail.eval.checks`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from promptrail.constants import LATEST, PREVIEW_PREFIX
from promptrail.errors import Problem
from promptrail.eval.checks import check_evals
from promptrail.gitops.versioning import VersionHistory
from promptrail.repo.promptfile import LoadedPrompt, template_problems
from promptrail.repo.repository import PromptRepo
from promptrail.repo.spec import LABEL_RE, PLACEHOLDER
from promptrail.template import variables_of

if TYPE_CHECKING:
    from promptrail.api.registry import RegistryState

WARNING_CODES = frozenset({"no-model", "tag-duplicate", "version-without-change"})


def is_error(problem: Problem) -> bool:
    return problem.code not in WARNING_CODES


def severity(problem: Problem) -> str:
    return "error" if is_error(problem) else "warning"


def validate(
    repo: PromptRepo, base: str | None = None, registry_state: RegistryState | None = None
) -> list[Problem]:
    """Check every prompt of the working tree; returns errors and warnings, sorted by file."""
    if base is not None:
        repo.resolve(base)  # an unknown ref is a GitError, not a pile of problems
    current = repo.load()
    problems = list(current.problems)
    preview_prefix = registry_state.preview_prefix if registry_state is not None else PREVIEW_PREFIX
    if not current.prompts and not current.problems:
        problems.append(
            Problem(
                f"no prompt files under {repo.prompts_path} "
                "(expected prompts/<name>.yaml; pass the repository root as PATH)",
                code="no-prompts",
            )
        )
    for prompt in current.prompts.values():
        problems.extend(check_file(prompt, preview_prefix))
    problems.extend(check_evals(repo, current.prompts))
    if not repo.is_git:
        problems.append(
            Problem(
                f"{repo.prompts_path} is not inside a git repository, so version and label "
                "rules cannot be checked (run `git init` and commit the prompts)",
                code="not-git",
            )
        )
    else:
        problems.extend(check_history(repo, current.prompts, base, registry_state))
    if registry_state is not None:
        problems.extend(check_registry(current.prompts, registry_state))
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.code))


# -- one file on its own ------------------------------------------------------------------


def check_file(prompt: LoadedPrompt, preview_prefix: str = PREVIEW_PREFIX) -> list[Problem]:
    """The rules that need nothing but the file."""
    problems = _template_problems(prompt)
    problems += _label_problems(prompt, preview_prefix)
    spec = prompt.spec
    if "model" not in spec.config:
        problems.append(
            _problem(
                prompt,
                "no-model",
                "`config` has no `model`: callers will not know which "
                "model this prompt was written for",
                "config",
            )
        )
    for tag, count in Counter(spec.tags).items():
        if count > 1:
            problems.append(
                _problem(prompt, "tag-duplicate", f"tag {tag!r} is listed twice", "tags")
            )
    return problems


def _problem(prompt: LoadedPrompt, code: str, message: str, *path: str | int) -> Problem:
    return Problem(message, prompt.path, prompt.line(*path), code, prompt.name)


def _template_problems(prompt: LoadedPrompt) -> list[Problem]:
    spec = prompt.spec
    messages = spec.messages_as_dicts()
    templates = {"prompt": spec.prompt, "messages": messages}
    problems = template_problems(templates, prompt.source, prompt.path, prompt.name)
    placeholders: dict[str, list[int]] = {}  # name -> indexes of the messages
    variables: set[str] = set()
    for index, message in enumerate(messages or []):
        if message["role"] == PLACEHOLDER:
            placeholders.setdefault(message["name"], []).append(index)
        elif not problems:  # a template that does not parse has no variables to list
            variables.update(variables_of(message["content"]))
    for name, indexes in placeholders.items():
        if len(indexes) > 1:
            problems.append(
                _problem(
                    prompt,
                    "placeholder-duplicate",
                    f"placeholder {name!r} appears {len(indexes)} times (messages "
                    f"{', '.join(map(str, indexes))}): each placeholder name must be unique",
                    "messages",
                    indexes[1],
                    "name",
                )
            )
        if name in variables:
            problems.append(
                _problem(
                    prompt,
                    "placeholder-clash",
                    f"placeholder {name!r} has the name of a "
                    f"`{{{{{name}}}}}` variable; rename one of them",
                    "messages",
                    indexes[0],
                    "name",
                )
            )
    return problems


def _label_problems(prompt: LoadedPrompt, preview_prefix: str) -> list[Problem]:
    spec = prompt.spec
    problems: list[Problem] = []
    names = list(spec.labels)
    for label, count in Counter(names).items():
        if count > 1:
            problems.append(
                _problem(
                    prompt, "label-duplicate", f"label {label!r} is listed {count} times", "labels"
                )
            )
    for index, label in enumerate(names):
        where = ("labels", label) if isinstance(spec.labels, dict) else ("labels", index)
        if label == LATEST:
            problems.append(
                _problem(
                    prompt,
                    "label-latest",
                    "`latest` is set automatically to the file's version; remove it from `labels`",
                    *where,
                )
            )
        elif preview_prefix and label.startswith(preview_prefix):
            problems.append(
                _problem(
                    prompt,
                    "label-preview",
                    f"label {label!r} starts with {preview_prefix!r}, the prefix of preview "
                    "labels that `publish --preview-label` sets for a pull request; rename it",
                    *where,
                )
            )
        elif not LABEL_RE.match(label):
            problems.append(
                _problem(
                    prompt,
                    "label-name",
                    f"label {label!r} is not a valid label name: use "
                    "lowercase letters, digits, `-`, `_` and `.` (at most 63)",
                    *where,
                )
            )
    if isinstance(spec.labels, dict):
        for label, version in spec.labels.items():
            if version > spec.version:
                problems.append(
                    _problem(
                        prompt,
                        "label-ahead",
                        f"label {label!r} points to version "
                        f"{version}, above the file's version {spec.version}: a label can "
                        "only point to this version or an earlier one",
                        "labels",
                        label,
                    )
                )
    return problems


# -- against git history ------------------------------------------------------------------


def check_history(
    repo: PromptRepo,
    prompts: dict[str, LoadedPrompt],
    base: str | None = None,
    registry_state: RegistryState | None = None,
) -> list[Problem]:
    """Version and pin rules; only prompts whose file had other contents are looked at."""
    history = VersionHistory(repo, ["HEAD", base] if base else ["HEAD"])
    problems: list[Problem] = []
    flagged: set[str] = set()
    if base is not None:
        problems += _base_problems(repo, prompts, base, history, flagged)
    pinned = {
        name
        for name, p in prompts.items()
        if isinstance(p.spec.labels, dict) and any(v < p.version for v in p.spec.labels.values())
    }
    interesting = [
        n for n, p in prompts.items() if n in pinned or history.has_other_blobs(n, p.blob)
    ]
    history.prefetch(interesting)
    for name in interesting:
        prompt = prompts[name]
        if name not in flagged:
            problems += _reuse_problems(prompt, history)
        if name in pinned:
            known = history.numbers(name) | {prompt.version}
            if registry_state is not None and name in registry_state.prompts:
                known |= set(registry_state.prompts[name].versions)
            problems += _pin_problems(prompt, known)
    return problems


def _base_problems(
    repo: PromptRepo,
    prompts: dict[str, LoadedPrompt],
    base: str,
    history: VersionHistory,
    flagged: set[str],
) -> list[Problem]:
    old_index, _ = repo.index(base)
    changed = [n for n, p in prompts.items() if n in old_index and old_index[n].blob != p.blob]
    old = repo.load(base, names=changed)
    problems: list[Problem] = []
    for name in changed:
        if name not in old:
            continue  # did not parse at base: nothing to compare with
        prompt, before = prompts[name], old[name]
        if prompt.hash == before.hash:
            if prompt.version != before.version:
                problems.append(
                    _problem(
                        prompt,
                        "version-without-change",
                        f"version changed from "
                        f"{before.version} to {prompt.version} but the content is the same "
                        f"as at {base}; labels, tags and description need no new version",
                        "version",
                    )
                )
            continue
        if prompt.version > before.version:
            continue
        if prompt.version == before.version:
            flagged.add(name)
            problems.append(
                _problem(
                    prompt,
                    "version-not-bumped",
                    f"content changed since {base} but "
                    f"`version` is still {prompt.version}: bump it (run `promptrail version "
                    f"--base {base}`)",
                    "version",
                )
            )
        elif prompt.version not in history.numbers(name):
            flagged.add(name)
            problems.append(
                _problem(
                    prompt,
                    "version-lowered",
                    f"`version` went down from {before.version} "
                    f"at {base} to {prompt.version}, a number this prompt never had; "
                    f"versions only go up (run `promptrail version --base {base}`)",
                    "version",
                )
            )
        # A lower number that history knows is a revert; the reuse rule checks its content.
    return problems


def _reuse_problems(prompt: LoadedPrompt, history: VersionHistory) -> list[Problem]:
    original = history.content(prompt.name, prompt.version)
    if original is None or original.hash == prompt.hash:
        return []
    commit = history.commit_of(prompt.name, original.blob)
    when = f" (commit {commit.sha[:10]}, {commit.date[:10]})" if commit else ""
    highest = max(history.numbers(prompt.name) | {prompt.version})
    return [
        _problem(
            prompt,
            "version-reused",
            f"version {prompt.version} had other content in git "
            f"history{when}; a version number never changes content: bump to "
            f"{highest + 1} (run `promptrail version`)",
            "version",
        )
    ]


def _pin_problems(prompt: LoadedPrompt, known: set[int]) -> list[Problem]:
    problems = []
    for label, version in prompt.spec.label_map().items():
        if version < prompt.version and version not in known:
            had = ", ".join(str(v) for v in sorted(known))
            problems.append(
                _problem(
                    prompt,
                    "label-pin-unknown",
                    f"label {label!r} points to version "
                    f"{version}, which {prompt.name!r} never had in git history "
                    f"(versions: {had})",
                    "labels",
                    label,
                )
            )
    return problems


# -- against the registry -----------------------------------------------------------------


def check_registry(prompts: dict[str, LoadedPrompt], state: RegistryState) -> list[Problem]:
    """A version the registry has with other content can never be published again."""
    problems = []
    for name, prompt in prompts.items():
        published = state.prompts.get(name)
        if published is None:
            continue
        their = published.versions.get(prompt.version)
        if their is not None and their != prompt.hash:
            highest = max([*published.versions, prompt.version])
            problems.append(
                _problem(
                    prompt,
                    "registry-conflict",
                    f"the registry already has version "
                    f"{prompt.version} of {name!r} with other content (hash {their[:12]}); "
                    f"published versions never change: bump to {highest + 1} (run "
                    "`promptrail version`)",
                    "version",
                )
            )
    return problems
