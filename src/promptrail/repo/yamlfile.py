"""The one place YAML is read: safe loader, duplicate keys refused, and a line for every key.

Uses libyaml when present (ten times faster on large repositories). Prompt files come from
pull requests, so a document is bounded: at most MAX_FILE_BYTES, and anchors and aliases
may not expand it past MAX_VALUES values (a few hundred bytes of nested aliases would
otherwise stand for billions, and everything after the parser walks them all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from promptrail.errors import PromptFileError

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path = tuple[str | int, ...]
MAX_FILE_BYTES = 1024 * 1024  # a prompt file; the largest real ones are a few KB
MAX_VALUES = 100_000  # values in a document once its aliases are expanded


@dataclass
class SourceMap:
    """Where each key and list item of a document starts, to point errors at a line."""

    file: str
    key_lines: dict[Path, int] = field(default_factory=dict)
    # First line of a scalar's text; block scalars (| and >) start on the line after the key.
    text_lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.key_lines:
                return self.key_lines[path]
            path = path[:-1]
        return 1

    def text_line(self, path: Path, line_in_text: int = 1) -> int:
        start = self.text_lines.get(tuple(path))
        if start is None:
            return self.line(path)
        return start + line_in_text - 1


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(f"duplicate key {key!r} (first at line {seen[key]})", line)
            try:
                seen[key] = line
            except TypeError:
                raise _DuplicateKey("a mapping key must be a plain value", line) from None
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        # The tag of a plain scalar depends on its text alone, and the same short texts
        # (`version`, `gpt-4o`, `0.2`) recur in every file: remember them instead of
        # running the resolver's regexes 300,000 times for 10,000 files.
        if kind is yaml.ScalarNode and implicit[0] and len(value) <= 64:
            tag = _plain_tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_plain_tags) < 100_000:
                    _plain_tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]


_plain_tags: dict[str, str] = {}


class _DuplicateKey(Exception):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


def _collect_lines(node: yaml.Node, path: Path, source: SourceMap) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            source.key_lines[child] = key_node.start_mark.line + 1
            _collect_lines(value_node, child, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            source.key_lines[child] = item.start_mark.line + 1
            _collect_lines(item, child, source)
    elif isinstance(node, yaml.ScalarNode):
        block = node.style in ("|", ">")
        source.text_lines[path] = node.start_mark.line + 1 + (1 if block else 0)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_BUILDING = object()


def _line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Budget:
    """Values built so far, counting each alias as the whole subtree it stands for."""

    def __init__(self) -> None:
        self.used = 0
        self.sizes: dict[int, int] = {}  # id(node) -> values in its subtree, expanded

    def spend(self, count: int, node: yaml.Node) -> None:
        self.used += count
        if self.used > MAX_VALUES:
            raise _DuplicateKey(
                f"the document expands to more than {MAX_VALUES:,} values (through anchors "
                "and aliases); write it out plainly",
                _line_of(node),
            )


def _construct(
    loader: _Loader,
    node: yaml.Node,
    path: Path,
    source: SourceMap,
    memo: dict[int, Any],
    budget: _Budget,
) -> Any:
    """Build the document and its source map in one walk: 40% faster than PyYAML's
    constructor plus a second walk for lines, and parsing is most of a `validate`."""
    if id(node) in memo:  # an alias: the same object, as PyYAML gives
        if memo[id(node)] is _BUILDING:
            raise _DuplicateKey("an anchor is used inside itself (recursive alias)", _line_of(node))
        budget.spend(budget.sizes.get(id(node), 1), node)
        _collect_lines(node, path, source)
        return memo[id(node)]
    budget.spend(1, node)
    start = budget.used
    value = _construct_new(loader, node, path, source, memo, budget)
    if not isinstance(node, yaml.ScalarNode):  # collections are what aliases share
        budget.sizes[id(node)] = budget.used - start + 1
    return value


def _construct_new(
    loader: _Loader,
    node: yaml.Node,
    path: Path,
    source: SourceMap,
    memo: dict[int, Any],
    budget: _Budget,
) -> Any:
    if isinstance(node, yaml.ScalarNode):
        block = node.style in ("|", ">")
        source.text_lines[path] = node.start_mark.line + 1 + (1 if block else 0)
        return node.value if node.tag == _STR else loader.construct_object(node)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        items: list[Any] = []
        memo[id(node)] = _BUILDING
        for index, item in enumerate(node.value):
            child = (*path, index)
            source.key_lines[child] = item.start_mark.line + 1
            items.append(_construct(loader, item, child, source, memo, budget))
        memo[id(node)] = items
        return items
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        mapping: dict[Any, Any] = {}
        memo[id(node)] = _BUILDING
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                raise _DuplicateKey(
                    "merge keys (`<<:`) are not supported: write the keys out", line
                )
            if key_node.tag == _STR and isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
            else:
                key = loader.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                raise _DuplicateKey("a mapping key must be a plain value", line) from None
            if first is not None:
                raise _DuplicateKey(f"duplicate key {key!r} (first at line {first})", line)
            seen[key] = line
            child = (*path, key_node.value)
            source.key_lines[child] = line
            mapping[key] = _construct(loader, value_node, child, source, memo, budget)
        memo[id(node)] = mapping
        return mapping
    # Explicitly tagged collections (`!!set`, `!!omap`): PyYAML's own constructor.
    _collect_lines(node, path, source)
    return loader.construct_object(node, deep=True)


def decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PromptFileError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded (save the file as UTF-8)",
            file,
            line,
        ) from None


def check_size(size: int, file: str) -> None:
    """Refuse a file larger than MAX_FILE_BYTES before reading it."""
    if size > MAX_FILE_BYTES:
        raise PromptFileError(
            f"the file is {size:,} bytes; a prompt file may have at most {MAX_FILE_BYTES:,}",
            file,
            1,
        )


def parse_mapping(
    data: bytes | str, file: str, kind: str = "prompt file"
) -> tuple[dict[str, Any], SourceMap]:
    """Parse one YAML document that must be a mapping; errors carry file and line."""
    check_size(len(data), file)
    text = decode(data, file) if isinstance(data, bytes) else data
    source = SourceMap(file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PromptFileError(f"the file is empty; a {kind} is a mapping of keys", file, 1)
        document = _construct(loader, node, (), source, {}, _Budget())
    except _DuplicateKey as exc:
        raise PromptFileError(str(exc), file, exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PromptFileError(_yaml_message(exc, text, line), file, line) from None
    except yaml.YAMLError as exc:
        raise PromptFileError(f"invalid YAML: {exc}", file) from None
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        found = type(document).__name__ if document is not None else "nothing"
        raise PromptFileError(
            f"a {kind} must be a mapping of keys, not a {found}",
            file,
            node.start_mark.line + 1,
        )
    return document, source


def _yaml_message(exc: yaml.MarkedYAMLError, text: str, line: int | None) -> str:
    problem = exc.problem or "invalid YAML"
    if line is not None:
        lines = text.splitlines()
        current = lines[line - 1] if 0 < line <= len(lines) else ""
        indentation = current[: len(current) - len(current.lstrip())]
        if "\t" in indentation:
            return "tab character in indentation: YAML indents with spaces only"
    if "\t" in problem or "tab" in problem:
        return "tab character where YAML allows only spaces"
    context = f" ({exc.context})" if exc.context else ""
    return f"invalid YAML: {problem}{context}"


def reads_as_string(text: str) -> bool:
    """Whether `text`, written plain, reads back as that string (`no`, `1`, `~` do not)."""
    try:
        return bool(yaml.load(text, Loader=_BaseLoader) == text)
    except yaml.YAMLError:
        return False


# -- writing new files (edits of existing ones keep their layout: repo/yaml_edit.py) -------


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so a prompt reads as it was written."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(document: dict[str, Any]) -> str:
    """A new YAML file's text: keys in the given order, multi-line strings as blocks."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
