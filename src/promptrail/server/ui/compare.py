"""A prompt page's work on published versions: diff two, compile one, link to git.

The diff is `promptrail.gitops.diff.compare`, the one `promptrail diff` shows in pull requests:
each published body is read back as a prompt file (JSON is YAML) so text, messages,
config and variables are compared by the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from promptrail.api.registry import is_web_url
from promptrail.errors import PromptrailError
from promptrail.gitops.diff import PromptDiff, compare
from promptrail.gitops.diffview import config_text
from promptrail.repo.promptfile import parse_prompt
from promptrail.store.ui_queries import Source
from promptrail.template import chat_variables, compile_chat, compile_text, variables_of

PLACEHOLDER = "placeholder"


@dataclass
class DiffView:
    old: int
    new: int
    result: PromptDiff | None  # None: the two versions have the same content
    config: list[str] = field(default_factory=list)
    error: str | None = None


def _as_file(body: dict[str, Any]) -> bytes:
    document = {"version": body["version"], "type": body["type"], "config": body["config"]}
    if body["type"] == "chat":
        document["messages"] = body.get("messages") or []
    else:
        document["prompt"] = body.get("prompt") or ""
    return json.dumps(document).encode()


def diff_versions(name: str, old: dict[str, Any], new: dict[str, Any]) -> DiffView:
    view = DiffView(old["version"], new["version"], None)
    try:
        before = parse_prompt(_as_file(old), name, f"{name}@v{old['version']}")
        after = parse_prompt(_as_file(new), name, f"{name}@v{new['version']}")
    except PromptrailError as exc:
        view.error = f"cannot compare these versions: {exc}"
        return view
    result = compare(before, after)
    if result is not None and result.content_changed:
        result.labels = []  # labels live in the registry, not in a version
        view.result = result
        view.config = [config_text(change) for change in result.config]
    return view


def diff_lines(text: str) -> list[tuple[str, str]]:
    """(css class, line) for each line of a unified diff."""
    out = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append((kind, line))
    return out


# -- preview ---------------------------------------------------------------------------------


@dataclass
class Inputs:
    variables: list[str]
    placeholders: list[str]


def inputs_of(body: dict[str, Any]) -> Inputs:
    try:
        if body["type"] == "chat":
            variables, placeholders = chat_variables(body.get("messages") or [])
            return Inputs(variables, placeholders)
        return Inputs(list(variables_of(body.get("prompt") or "")), [])
    except PromptrailError:
        return Inputs([], [])


@dataclass
class Preview:
    text: str | None = None
    messages: list[dict[str, Any]] | None = None
    error: str | None = None


def compile_preview(body: dict[str, Any], given: dict[str, str]) -> Preview:
    """Compile a version with the form's values; a placeholder's value is a JSON list.

    Bounded in time and size, and called on a worker thread: someone else's template
    must not hold up the server.

    An empty field counts as not given (a form cannot tell empty from absent), so the
    error names it, as `compile()` would; an empty placeholder is an empty list.
    """
    name = body["name"]
    given = {key: value for key, value in given.items() if value != ""}
    try:
        if body["type"] != "chat":
            text = compile_text(body.get("prompt") or "", given, name, bounded=True)
            return Preview(text=text)
        values: dict[str, Any] = dict(given)
        for slot in inputs_of(body).placeholders:
            raw = given.get(slot, "").strip() or "[]"
            try:
                values[slot] = json.loads(raw)
            except ValueError as exc:
                return Preview(
                    error=f"placeholder {slot!r} takes a JSON list of messages like "
                    f'[{{"role": "user", "content": "hi"}}]: {exc}'
                )
        messages = compile_chat(body.get("messages") or [], values, name, bounded=True)
        return Preview(messages=messages)
    except PromptrailError as exc:
        return Preview(error=str(exc))


# -- links to the repository -----------------------------------------------------------------


def _is_gitlab(repository_url: str) -> bool:
    return "gitlab" in urlsplit(repository_url).netloc


def commit_url(repository_url: str | None, commit: str | None) -> str | None:
    if not repository_url or not commit or not is_web_url(repository_url):
        return None
    middle = "/-/commit/" if _is_gitlab(repository_url) else "/commit/"
    return repository_url.rstrip("/") + middle + commit


def edit_url(source: Source | None, path: str | None) -> str | None:
    """The file's edit page on the branch last published (its blob at the commit otherwise)."""
    repository_url = source.repository_url if source is not None else None
    if source is None or repository_url is None or not is_web_url(repository_url) or not path:
        return None
    base = repository_url.rstrip("/") + ("/-" if _is_gitlab(repository_url) else "")
    branch = (source.ref or "").removeprefix("refs/heads/")
    if branch and not branch.startswith("refs/"):
        return f"{base}/edit/{branch}/{path}"
    if source.commit:
        return f"{base}/blob/{source.commit}/{path}"
    return None
