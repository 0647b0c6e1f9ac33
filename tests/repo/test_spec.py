"""The content hash: same content, same hash, whatever the YAML looks like."""

from __future__ import annotations

from promptrail.repo.promptfile import LoadedPrompt, parse_prompt

FLOW = b"""version: 1
type: chat
messages: [{role: system, content: "Be brief."}, {role: placeholder, name: history}]
config: {model: gpt-4o, temperature: 0.5, stop: ["\\n"]}
labels: [production]
"""

BLOCK = b"""# the same prompt, written differently
config:
  stop:
    - "\\n"
  temperature: 0.50
  model: 'gpt-4o'
messages:
  - content: Be brief.
    role: system
  - name: history
    role: placeholder
type: "chat"
version: 1
"""


def load(data: bytes, name: str = "p") -> LoadedPrompt:
    return parse_prompt(data, name, f"prompts/{name}.yaml")


def test_style_and_key_order_do_not_change_the_hash() -> None:
    flow, block = load(FLOW), load(BLOCK, "q")
    assert flow.hash == block.hash
    assert len(flow.hash) == 64


def test_labels_tags_and_description_do_not_change_the_hash() -> None:
    other = FLOW.replace(b"[production]", b"{production: 1, staging: 1}")
    other += b"tags: [x]\ndescription: something\n"
    assert load(FLOW).hash == load(other, "r").hash


def test_version_does_not_change_the_hash_but_content_does() -> None:
    first = load(FLOW).hash
    assert first == load(FLOW.replace(b"version: 1", b"version: 2"), "s").hash
    assert first != load(FLOW.replace(b"0.5", b"0.6"), "t").hash
    assert first != load(FLOW.replace(b"brief", b"short"), "u").hash


def test_text_default_type_equals_explicit_type() -> None:
    implicit = load(b"version: 1\nprompt: hi\n", "a")
    explicit = load(b"version: 1\ntype: text\nprompt: hi\nconfig: {}\n", "b")
    assert implicit.hash == explicit.hash
