"""The YAML reader: every bad input is a PromptFileError with a line, never a crash."""

from __future__ import annotations

import pytest

from promptrail.errors import PromptFileError
from promptrail.repo.yamlfile import parse_mapping


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"version: 1\nprompt: [unclosed\n", 3, "invalid YAML"),
        (b"version: 1\nconfig:\n\tmodel: x\n", 3, "tab"),
        (b"version: 1\nprompt: a\nversion: 2\n", 3, "duplicate key 'version' (first at line 1)"),
        (b"config: {model: a, model: b}\n", 1, "duplicate key 'model'"),
        (b"- just\n- a list\n", 1, "must be a mapping"),
        (b"just a string\n", 1, "must be a mapping"),
        (b"", 1, "empty"),
        (b"# only a comment\n", 1, "empty"),
        (b"version: 1\nprompt: caf\xe9\n", 2, "not UTF-8: byte 0xe9"),
        (b"? [a, b]\n: 1\n", 1, "plain value"),
        (b"x: &r [1, *r]\n", 1, "recursive alias"),
        (b"a: 1\n---\nb: 2\n", 2, "invalid YAML"),
    ],
)
def test_bad_yaml_is_an_error_with_a_line(data: bytes, line: int, words: str) -> None:
    with pytest.raises(PromptFileError) as info:
        parse_mapping(data, "prompts/x.yaml")
    problem = info.value.problem
    assert problem.file == "prompts/x.yaml"
    assert problem.line == line
    assert words in problem.message


def test_lines_of_keys_items_and_block_text() -> None:
    data = (
        b"version: 1\ntype: chat\nmessages:\n  - role: system\n    content: |\n      a\n      b\n"
    )
    document, source = parse_mapping(data, "f")
    assert document["messages"][0]["content"] == "a\nb\n"
    assert source.line(("messages", 0, "role")) == 4
    assert source.text_line(("messages", 0, "content"), 2) == 7
    assert source.line(("nothing", "here")) == 1


def test_aliases_and_byte_order_mark_work_merge_keys_are_refused() -> None:
    data = "\ufeffbase: &b {model: m}\nconfig: *b\n"
    document, source = parse_mapping(data.encode(), "f")
    assert document["config"] == {"model": "m"}
    assert source.line(("config", "model")) == 1
    with pytest.raises(PromptFileError, match="merge keys"):
        parse_mapping(b"base: &b {model: m}\nconfig:\n  <<: *b\n", "f")
