"""The shapes of a prompt file and of a published version, and the content hash.

Content is `type` + `prompt`/`messages` + `config`; its hash identifies a version.
Labels, tags and description are metadata and never change the hash; nor does `evals:`
(which datasets and evaluators check a prompt), so adding a check needs no new version.
A dataset file (`datasets/<name>.yaml`) is described here too; `repo/datasets.py` loads it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from promptrail.constants import LATEST
from promptrail.content import canonical_json as canonical_json
from promptrail.content import content_hash as content_hash
from promptrail.content import content_of

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$"
LABEL_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
NAME_RE = re.compile(NAME_PATTERN)
LABEL_RE = re.compile(LABEL_PATTERN)
PLACEHOLDER = "placeholder"
TOP_LEVEL_KEYS = (
    "version",
    "type",
    "prompt",
    "messages",
    "config",
    "labels",
    "tags",
    "description",
    "evals",
)
DATASET_KEYS = ("description", "items")
ITEM_KEYS = ("id", "input", "expected", "metadata")


def is_valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name)) and ".." not in name and len(name) <= 200


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Annotated[str, Field(min_length=1)]
    content: str

    @field_validator("role")
    @classmethod
    def _not_placeholder(cls, role: str) -> str:
        if role == PLACEHOLDER:
            raise ValueError("a placeholder takes `name:`, not `content:`")
        return role


class Placeholder(BaseModel):
    """A slot filled at compile time with a list of messages (e.g. the chat history)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["placeholder"]
    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _message_kind(raw: Any) -> str:
    if isinstance(raw, dict):
        return "placeholder" if raw.get("role") == PLACEHOLDER else "message"
    return "placeholder" if isinstance(raw, Placeholder) else "message"


# The role picks the model, so an error speaks of a message or a placeholder, not both.
ChatItem = Annotated[
    Annotated[Message, Tag("message")] | Annotated[Placeholder, Tag("placeholder")],
    Discriminator(_message_kind),
]


class GateRule(BaseModel):
    """A threshold on one evaluator's aggregate: `{min: 0.9}` and/or `{max: 0.2}`.

    `max_drop` is for `eval --base`: the largest significant drop against the base version
    that still passes (default 0); `cost_per_call` and `latency_ms` (GATE_CEILINGS) name
    no evaluator but a ceiling per call (`{max: ...}`). See eval/prgate.py.
    """

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    max_drop: Annotated[float, Field(ge=0)] | None = None


GATE_CEILINGS = ("cost_per_call", "latency_ms")


class EvalBlock(BaseModel):
    """One entry of a prompt's `evals:`: a dataset, its evaluators and the gate.

    Evaluator entries stay plain mappings here (each needs `type`); their own fields are
    checked by `promptrail.eval.evaluators`, which knows every type.
    """

    model_config = ConfigDict(extra="forbid")

    dataset: Annotated[str, Field(pattern=NAME_PATTERN)]
    evaluators: list[dict[str, Any]] = Field(default_factory=list)
    run_evaluators: list[dict[str, Any]] = Field(default_factory=list)
    gate: dict[str, GateRule] = Field(default_factory=dict)
    task: str | None = None  # `module:function` evaluated instead of the bare prompt
    samples: Annotated[StrictInt, Field(ge=1, le=100)] = 1


class DatasetItem(BaseModel):
    """One item of a dataset, as written in `datasets/<name>.yaml` (or one `.jsonl` line)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=200)]
    input: Any = None  # the prompt's variables (a mapping), or free-form input for a task
    expected: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # `id: 1` in YAML is an int; ids are compared as text everywhere else.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class DatasetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    items: list[DatasetItem] = Field(default_factory=list)


class PromptFile(BaseModel):
    """One `prompts/<name>.yaml` file as written by a person."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[StrictInt, Field(ge=1)]
    type: Literal["text", "chat"] = "text"
    prompt: str | None = None
    messages: list[ChatItem] | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] | dict[str, StrictInt] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    evals: list[EvalBlock] = Field(default_factory=list)  # not content: no version bump

    @model_validator(mode="after")
    def _body_matches_type(self) -> PromptFile:
        if self.type == "text":
            if self.messages is not None:
                raise ValueError(
                    "a text prompt has `prompt:`, not `messages:` (or set `type: chat`)"
                )
            if self.prompt is None:
                raise ValueError("a text prompt needs `prompt:`")
        else:
            if self.prompt is not None:
                raise ValueError(
                    "a chat prompt has `messages:`, not `prompt:` (or set `type: text`)"
                )
            if not self.messages:
                raise ValueError("a chat prompt needs at least one entry in `messages:`")
        return self

    def content(self) -> dict[str, Any]:
        return content_of(self.type, self.prompt, self.messages_as_dicts(), self.config)

    def messages_as_dicts(self) -> list[dict[str, str]] | None:
        if self.messages is None:
            return None
        return [m.model_dump() for m in self.messages]

    @property
    def hash(self) -> str:
        return content_hash(self.content())

    def label_map(self) -> dict[str, int]:
        """Label -> version, whichever of the two forms the file uses."""
        if isinstance(self.labels, dict):
            return dict(self.labels)
        return dict.fromkeys(self.labels, self.version)


def label_map(spec: PromptFile) -> dict[str, int]:
    """The file's labels plus `latest` (its current version)."""
    labels: dict[str, int] = {LATEST: spec.version}
    labels.update(spec.label_map())
    return labels


def version_data(name: str, spec: PromptFile, labels: dict[str, int]) -> dict[str, Any]:
    """A version read from a file, in the registry's JSON shape."""
    data: dict[str, Any] = {"name": name, "version": spec.version, "type": spec.type}
    if spec.type == "chat":
        data["messages"] = spec.messages_as_dicts()
    else:
        data["prompt"] = spec.prompt
    data["config"] = spec.config
    data["labels"] = sorted(label for label, v in labels.items() if v == spec.version)
    data["tags"] = list(spec.tags)
    data["hash"] = spec.hash
    return data
