"""Datasets in git: `datasets/<name>.yaml` (or `.jsonl`, one item per line) beside `prompts/`.

A dataset's name is its path below `datasets/` without the suffix, named like a prompt.
Its content is its items (id, input, expected, metadata); the hash is sha256 of their
canonical JSON, so YAML style drops out and the description is metadata, as a prompt's is.
Items keep their order: it is the order a run reports them in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from promptrail.content import content_hash
from promptrail.errors import Problem, PromptFileError
from promptrail.repo.repository import WORKTREE, PromptRepo
from promptrail.repo.spec import DATASET_KEYS, ITEM_KEYS, DatasetFile, DatasetItem, is_valid_name
from promptrail.repo.yamlfile import SourceMap, decode, parse_mapping

DATASETS_DIR = "datasets"
DATASET_SUFFIXES = (".yaml", ".yml", ".jsonl")


@dataclass
class LoadedDataset:
    name: str
    path: str
    items: list[DatasetItem]
    description: str | None = None
    item_lines: list[int] = field(default_factory=list)  # the line each item starts on

    @cached_property
    def hash(self) -> str:
        return dataset_hash(self.items)

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else 1

    def wire(self, commit: str | None = None) -> dict[str, Any]:
        """The `DatasetUpload` body a publish sends."""
        return {
            "name": self.name,
            "hash": self.hash,
            "description": self.description,
            "items": [item.model_dump() for item in self.items],
            "path": self.path,
            "commit": commit,
        }


def dataset_hash(items: list[DatasetItem]) -> str:
    return content_hash({"items": [item.model_dump() for item in items]})


@dataclass
class DatasetSet:
    ref: str | None
    datasets: dict[str, LoadedDataset] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def load_datasets(repo: PromptRepo, ref: str | None = WORKTREE) -> DatasetSet:
    """Every dataset at `ref` (None: the working tree); problems collected, not raised."""
    result = DatasetSet(ref)
    for relative, path, data in repo.sibling_files(DATASETS_DIR, DATASET_SUFFIXES, ref):
        name = relative.rsplit(".", 1)[0]
        if not is_valid_name(name):
            result.problems.append(
                Problem(
                    f"{name!r} is not a valid dataset name: use lowercase letters, digits, "
                    "`-`, `_`, `.` and `/` for folders (rename the file)",
                    path,
                    None,
                    "dataset-name",
                    name,
                )
            )
            continue
        if name in result.datasets:
            first = result.datasets[name].path
            result.problems.append(
                Problem(
                    f"two files define dataset {name!r}: {first} and {path} (keep one)",
                    path,
                    None,
                    "dataset-name-clash",
                    name,
                )
            )
            continue
        dataset, problems = parse_dataset(data, name, path)
        result.problems.extend(problems)
        if dataset is not None:
            result.datasets[name] = dataset
    return result


def parse_dataset(data: bytes, name: str, path: str) -> tuple[LoadedDataset | None, list[Problem]]:
    """One file; (None, problems) when it cannot be used at all."""
    try:
        if path.endswith(".jsonl"):
            dataset, problems = _parse_jsonl(data, name, path)
        else:
            dataset, problems = _parse_yaml(data, name, path)
    except PromptFileError as exc:
        problem = exc.problem
        return None, [Problem(problem.message, path, problem.line, "dataset-syntax", name)]
    if dataset is None:
        return None, problems
    return dataset, problems + _duplicate_ids(dataset)


def _parse_yaml(data: bytes, name: str, path: str) -> tuple[LoadedDataset | None, list[Problem]]:
    document, source = parse_mapping(data, path, kind="dataset file")
    try:
        spec = DatasetFile.model_validate(document)
    except ValidationError as exc:
        return None, _schema_problems(exc, source, name, ())
    lines = [source.line(("items", index)) for index in range(len(spec.items))]
    return LoadedDataset(name, path, spec.items, spec.description, lines), []


def _parse_jsonl(data: bytes, name: str, path: str) -> tuple[LoadedDataset | None, list[Problem]]:
    text = decode(data, path)
    items: list[DatasetItem] = []
    lines: list[int] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            message = f'line is not JSON: {exc.msg} (one item per line: {{"id": ...}})'
            problems.append(Problem(message, path, number, "dataset-syntax", name))
            continue
        try:
            items.append(DatasetItem.model_validate(value))
            lines.append(number)
        except ValidationError as exc:
            problems.extend(_schema_problems(exc, SourceMap(path), name, (), line=number))
    if problems:
        return None, problems
    return LoadedDataset(name, path, items, None, lines), []


def _schema_problems(
    exc: ValidationError, source: SourceMap, name: str, prefix: tuple[Any, ...], line: int = 0
) -> list[Problem]:
    problems: dict[tuple[Any, ...], Problem] = {}
    for error in exc.errors():
        loc = (*prefix, *error["loc"])
        where = line or source.line(loc)
        field_name = ".".join(str(part) for part in loc) or "file"
        if error["type"] == "extra_forbidden":
            known = ITEM_KEYS if len(loc) > 1 or line else DATASET_KEYS
            message = f"`{field_name}` is not a known key (known: {', '.join(known)})"
        elif error["type"] == "model_type" and loc == ():
            message = "an item is a mapping: {id: ..., input: {...}, expected: ...}"
        else:
            text = str(error["msg"]).removeprefix("Value error, ")
            message = f"`{field_name}`: {text}"
        problems.setdefault(loc, Problem(message, source.file, where, "dataset-schema", name))
    return list(problems.values())


def _duplicate_ids(dataset: LoadedDataset) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for index, item in enumerate(dataset.items):
        line = dataset.line_of(index)
        if item.id in first:
            problems.append(
                Problem(
                    f"item id {item.id!r} is used twice (first at line {first[item.id]}); "
                    "ids are stable keys that runs are compared by: give each item its own",
                    dataset.path,
                    line,
                    "dataset-duplicate-id",
                    dataset.name,
                )
            )
        else:
            first[item.id] = line
    return problems
