"""`promptrail schema`: the JSON Schema of a prompt file, for editors to validate as you type.

    promptrail schema > .promptrail/prompt.schema.json

then put `# yaml-language-server: $schema=../.promptrail/prompt.schema.json` at the top of
a prompt file, or map `prompts/**/*.yaml` to it in VS Code's `yaml.schemas` setting.
"""

from __future__ import annotations

import json
from typing import Any

from promptrail.constants import LATEST
from promptrail.repo.spec import LABEL_PATTERN, PromptFile

DESCRIPTIONS = {
    "version": "Integer >= 1. Bump it when the content (type, prompt/messages, config) "
    "changes; `promptrail version` does it for you. Never reuse a number.",
    "type": "`text` (default): a single `prompt`. `chat`: a list of `messages`.",
    "prompt": "The template of a text prompt: `{{variable}}` (Jinja2, sandboxed).",
    "messages": "The messages of a chat prompt, each `{role, content}`, or a "
    "`{role: placeholder, name: ...}` slot filled with a list of messages at compile time.",
    "config": "Free-form model parameters (`model`, `temperature`, ...), part of the content.",
    "labels": "Labels on this version (`[production]`), or a mapping of label to version "
    "(`{production: 3, staging: 4}`) to keep a label on an earlier version. `latest` is "
    "automatic. Labels are metadata: changing them needs no new version.",
    "tags": "Metadata for search and grouping; no new version needed.",
    "description": "What the prompt is for; metadata, no new version needed.",
}


def prompt_file_schema() -> dict[str, Any]:
    """PromptFile's JSON Schema, made stricter where the model checks in code."""
    schema = PromptFile.model_json_schema()
    props = schema["properties"]
    for key, text in DESCRIPTIONS.items():
        props[key]["description"] = text
        props[key].pop("title", None)
    props["prompt"] = {"type": "string", "description": DESCRIPTIONS["prompt"]}
    props["messages"] = {
        "type": "array",
        "minItems": 1,
        "items": props["messages"]["anyOf"][0]["items"],
        "description": DESCRIPTIONS["messages"],
    }
    label = {"type": "string", "pattern": LABEL_PATTERN, "not": {"const": LATEST}}
    props["labels"]["anyOf"] = [
        {"type": "array", "items": label, "uniqueItems": True},
        {
            "type": "object",
            "propertyNames": label,
            "additionalProperties": {"type": "integer", "minimum": 1},
        },
    ]
    message = schema["$defs"]["Message"]
    message["properties"]["role"]["not"] = {"const": "placeholder"}
    message["description"] = "A message: `role` (system, user, assistant, ...) and `content`."
    # The body must match the type (a check the model makes in code).
    schema["allOf"] = [
        {
            "if": {"properties": {"type": {"const": "chat"}}, "required": ["type"]},
            "then": {"required": ["messages"], "not": {"required": ["prompt"]}},
            "else": {"required": ["prompt"], "not": {"required": ["messages"]}},
        }
    ]
    schema["title"] = "promptrail prompt file"
    schema["description"] = "prompts/<name>.yaml: one prompt, versioned in git."
    # Draft 7: the newest that yaml-language-server (VS Code, Neovim, JetBrains) supports.
    return {"$schema": "http://json-schema.org/draft-07/schema#", **schema}


def command() -> None:
    """Print the JSON Schema of a prompt file (for yaml-language-server and other editors)."""
    print(json.dumps(prompt_file_schema(), indent=2))
