"""One prompt file: parse it, check it against the schema, and say where each problem is."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from promptrail.errors import Problem, PromptFileError, SchemaProblems, TemplateError
from promptrail.repo.spec import PLACEHOLDER, TOP_LEVEL_KEYS, EvalBlock, GateRule, PromptFile
from promptrail.repo.yamlfile import SourceMap, parse_mapping
from promptrail.template import check_syntax


@dataclass
class LoadedPrompt:
    name: str
    path: str
    blob: str
    spec: PromptFile
    source: SourceMap

    @cached_property
    def hash(self) -> str:
        return self.spec.hash

    @property
    def version(self) -> int:
        return self.spec.version

    def line(self, *path: str | int) -> int:
        return self.source.line(path)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


_parsed: dict[tuple[str, str], LoadedPrompt | PromptFileError | list[Problem]] = {}


def parse_prompt(data: bytes, name: str, path: str, blob: str | None = None) -> LoadedPrompt:
    """Parse one file. Raises PromptFileError (syntax) or ProblemList (schema problems)."""
    blob = blob or git_blob_id(data)
    key = (blob, path)
    cached = _parsed.get(key)
    if cached is None:
        cached = _parse_uncached(data, name, path, blob)
        if len(_parsed) > 200_000:
            _parsed.clear()
        _parsed[key] = cached
    if isinstance(cached, LoadedPrompt):
        return cached
    if isinstance(cached, PromptFileError):
        raise cached.with_traceback(None)  # else each raise adds to the cached traceback
    raise SchemaProblems(cached)


def _parse_uncached(
    data: bytes, name: str, path: str, blob: str
) -> LoadedPrompt | PromptFileError | list[Problem]:
    try:
        document, source = parse_mapping(data, path)
    except PromptFileError as exc:
        return exc
    try:
        spec = PromptFile.model_validate(document)
    except ValidationError as exc:
        # The templates are checked too: fixing the schema should not reveal a second round.
        problems = schema_problems(exc, document, source, name)
        return problems + template_problems(document, source, path, name)
    return LoadedPrompt(name, path, blob, spec, source)


def template_problems(
    document: Mapping[str, Any], source: SourceMap, path: str, name: str
) -> list[Problem]:
    """A problem (with its line in the file) per template in `prompt` or `messages` that
    does not parse; reads the raw mapping, so it works on a file the schema refused."""
    problems = []
    for key_path, what, text in _templates(document):
        try:
            check_syntax(text)
        except TemplateError as exc:
            line = source.text_line(key_path, exc.line or 1)
            problems.append(Problem(f"{what}: {exc}", path, line, "template", name))
    return problems


def _templates(document: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    prompt = document.get("prompt")
    if isinstance(prompt, str):
        yield ("prompt",), "`prompt`", prompt
    messages = document.get("messages")
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, Mapping) or message.get("role") == PLACEHOLDER:
            continue
        content = message.get("content")
        if isinstance(content, str):
            what = f"`messages[{index}].content` ({message.get('role')})"
            yield ("messages", index, "content"), what, content


_TAGS = {"message", "placeholder"}


def schema_problems(
    exc: ValidationError, document: dict[str, Any], source: SourceMap, name: str
) -> list[Problem]:
    """Turn pydantic's errors into one problem per field, each with its line."""
    problems: dict[tuple[Any, ...], Problem] = {}
    for error in exc.errors():
        loc = _clean_loc(error["loc"])
        key_path = tuple(loc)
        line = source.line(key_path) if key_path else 1
        if error["type"] == "extra_forbidden":
            message = _unknown_key_message(loc, document)
        elif loc and loc[0] == "labels":
            key_path = ("labels",)
            message = (
                "`labels` is a list of label names ([production]) "
                "or a mapping of label to version ({production: 3})"
            )
        else:
            field_name = ".".join(str(p) for p in loc) or "file"
            message = f"`{field_name}`: {_pydantic_message(error)}"
        problems.setdefault(key_path, Problem(message, source.file, line, "schema", name))
    return list(problems.values())


def _clean_loc(loc: tuple[Any, ...]) -> list[Any]:
    # Drop the union/discriminator tags pydantic puts in paths (`messages.0.message.role`).
    return [part for part in loc if not (isinstance(part, str) and (part in _TAGS or "[" in part))]


def _pydantic_message(error: Any) -> str:
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] in ("int_type", "int_parsing", "string_type", "dict_type", "list_type"):
        message += f" (got {error['input']!r})"
    return message


def _unknown_key_message(loc: list[Any], document: dict[str, Any]) -> str:
    key = str(loc[-1])
    if len(loc) == 1:
        known: Iterable[str] = TOP_LEVEL_KEYS
        where = "top-level key"
    elif loc[0] == "evals" and len(loc) == 3:
        known = tuple(EvalBlock.model_fields)
        where = "key in an `evals:` entry"
    elif loc[0] == "evals":
        known = tuple(GateRule.model_fields)
        where = "key in a gate rule"
    else:
        known = ("role", "content", "name")
        where = "key in a message"
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else f" (known: {', '.join(known)})"
    return f"`{key}` is not a known {where}{hint}"
