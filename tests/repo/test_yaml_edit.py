"""Round-trip edits keep what a person wrote: indentation, line endings, quoting."""

from __future__ import annotations

from promptrail.repo.promptfile import parse_prompt
from promptrail.repo.yaml_edit import set_labels, set_version

CHAT = """\
version: 2
type: chat
messages:
    -   role: system   # four-space style, kept
        content: |
            You answer in "{{tone}}" tones.
    -   role: user
        content: '{{question}}'
config:
    model: gpt-4o-mini
labels: {production: 1, staging: 2}
"""


def test_a_bump_keeps_a_four_space_chat_file_as_written() -> None:
    edited = set_version(CHAT.encode(), 3).decode()
    assert edited == CHAT.replace("version: 2", "version: 3")


def test_crlf_and_a_byte_order_mark_survive_a_label_edit() -> None:
    data = b"\xef\xbb\xbf" + CHAT.replace("\n", "\r\n").encode()
    edited = set_labels(data, {"production": 2, "staging": 2}, as_list=False)
    assert edited.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in edited
    assert b"\n" not in edited.replace(b"\r\n", b"")
    assert b"labels: {production: 2, staging: 2}\r\n" in edited
    assert parse_prompt(edited, "c", "c.yaml").spec.label_map() == {
        "production": 2,
        "staging": 2,
    }


def test_a_label_yaml_would_misread_is_quoted() -> None:
    edited = set_labels(b"version: 1\nprompt: x\n", {"on": 1, "1.0": 1}, as_list=True)
    assert edited == b'version: 1\nprompt: x\nlabels: ["on", "1.0"]\n'
