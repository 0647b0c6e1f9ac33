"""The prompts `get_prompt()` returns: immutable, cheap to share, and enough to trace.

A prompt keeps its real name, version and content hash wherever it came from (registry,
cache, snapshot, folder), so a generation traced with it links to the exact version that
ran. `source` says where it came from and `label` the label it was fetched by (for an A/B
split, the variant chosen).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NoReturn, Self

from promptrail.content import content_hash, content_of
from promptrail.errors import InvalidPromptData
from promptrail.template import (
    ChatTemplate,
    Template,
    chat_variables,
    compile_template,
    template_for,
)

Source = Literal["registry", "cache", "stale", "snapshot", "folder", "fallback"]
SOURCES: tuple[str, ...] = ("registry", "cache", "stale", "snapshot", "folder", "fallback")


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes: shared by all callers, still JSON-serializable, `**`-able."""

    __slots__ = ()

    def _readonly(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("prompt data is read-only; copy it first: dict(prompt.config)")

    __setitem__ = __delitem__ = __ior__ = _readonly
    clear = pop = popitem = setdefault = update = _readonly

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


class _Prompt:
    __slots__ = ("config", "hash", "label", "labels", "name", "source", "tags", "version")
    type: str
    _content: tuple[str, ...]  # the slots a kind adds, which `_replace` copies as well

    name: str
    version: int | None
    labels: tuple[str, ...]
    tags: tuple[str, ...]
    config: FrozenDict
    hash: str
    source: Source
    label: str | None

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def _set(self, **values: Any) -> None:
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def _init(
        self,
        name: str,
        version: int | None,
        config: Mapping[str, Any] | None,
        labels: Iterable[str],
        tags: Iterable[str],
        hash: str | None,
        source: Source,
        label: str | None,
        **content: Any,
    ) -> None:
        """Set the fields both kinds share, and `content` (the prompt text or messages)."""
        frozen = FrozenDict(config or {})
        digest = hash or content_hash(
            content_of(self.type, content.get("prompt"), content.get("messages"), frozen)
        )
        self._set(
            name=name,
            version=version,
            config=frozen,
            labels=tuple(labels),
            tags=tuple(tags),
            hash=digest,
            source=source,
            label=label,
            **content,
        )

    def _replace(self, **changes: Any) -> Self:
        copy = type(self).__new__(type(self))
        fields = (*_Prompt.__slots__, *self._content)
        copy._set(**({key: getattr(self, key) for key in fields} | changes))
        return copy

    def to_dict(self) -> dict[str, Any]:
        """The registry's JSON shape of this version (what a snapshot stores)."""
        return {
            "name": self.name,
            "version": self.version,
            # Each kind has one of the two slots; the other reads as None.
            **content_of(
                self.type,
                getattr(self, "prompt", None),
                getattr(self, "messages", None),
                self.config,
            ),
            "labels": list(self.labels),
            "tags": list(self.tags),
            "hash": self.hash,
        }

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return (
            f"{type(self).__name__}(name={self.name!r}, version={self.version!r}{label}, "
            f"source={self.source!r})"
        )


class TextPrompt(_Prompt):
    """A text prompt; `compile(**vars)` returns the filled-in string."""

    __slots__ = ("_template", "prompt")
    _template: Template | None
    _content = __slots__
    type = "text"
    prompt: str

    def __init__(
        self,
        name: str,
        version: int | None,
        prompt: str,
        *,
        config: Mapping[str, Any] | None = None,
        labels: Iterable[str] = (),
        tags: Iterable[str] = (),
        hash: str | None = None,
        source: Source = "registry",
        label: str | None = None,
    ):
        self._init(
            name, version, config, labels, tags, hash, source, label, prompt=prompt, _template=None
        )

    def compile(self, **variables: Any) -> str:
        """Fill in the variables; MissingVariable names any the template uses but was not given."""
        template: Template | None = self._template
        if template is None:
            template = template_for(self.prompt, self.name)
            object.__setattr__(self, "_template", template)
        return template.render(variables, self.name)

    @property
    def variables(self) -> tuple[str, ...]:
        return compile_template(self.prompt).variables


class ChatPrompt(_Prompt):
    """A chat prompt; `compile(**vars)` returns `[{role, content}, ...]`.

    A placeholder message (`{role: placeholder, name: history}`) is replaced by the list of
    messages passed under its name: `compile(history=[{"role": "user", "content": "hi"}])`.
    """

    __slots__ = ("_template", "messages")
    _content = __slots__
    type = "chat"
    messages: tuple[FrozenDict, ...]
    _template: ChatTemplate | None

    def __init__(
        self,
        name: str,
        version: int | None,
        messages: Iterable[Mapping[str, Any]],
        *,
        config: Mapping[str, Any] | None = None,
        labels: Iterable[str] = (),
        tags: Iterable[str] = (),
        hash: str | None = None,
        source: Source = "registry",
        label: str | None = None,
    ):
        frozen = tuple(FrozenDict(m) for m in messages)
        self._init(
            name,
            version,
            config,
            labels,
            tags,
            hash,
            source,
            label,
            messages=frozen,
            _template=None,
        )

    def compile(self, **variables: Any) -> list[dict[str, Any]]:
        template: ChatTemplate | None = self._template
        if template is None:
            template = ChatTemplate(self.messages)
            object.__setattr__(self, "_template", template)
        return template.render(variables, self.name)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(chat_variables(self.messages)[0])

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(chat_variables(self.messages)[1])


Prompt = TextPrompt | ChatPrompt


def prompt_from_data(data: Any, source: Source, label: str | None) -> Prompt:
    """Build a prompt from the registry's JSON shape; InvalidPromptData says what is wrong."""
    if not isinstance(data, dict):
        raise InvalidPromptData(f"expected a JSON object, got {type(data).__name__}")
    name, version, kind = data.get("name"), data.get("version"), data.get("type", "text")
    if not isinstance(name, str) or not name:
        raise InvalidPromptData("`name` missing")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidPromptData(f"`version` is not an integer (got {version!r})")
    config = data.get("config") or {}
    labels = data.get("labels") or []
    tags = data.get("tags") or []
    digest = data.get("hash")
    if not isinstance(config, dict) or not isinstance(labels, list) or not isinstance(tags, list):
        raise InvalidPromptData("`config` must be an object, `labels` and `tags` lists")
    if digest is not None and not isinstance(digest, str):
        raise InvalidPromptData("`hash` is not a string")
    common: dict[str, Any] = {
        "config": config,
        "labels": labels,
        "tags": tags,
        "hash": digest,
        "source": source,
        "label": label,
    }
    if kind == "text":
        text = data.get("prompt")
        if not isinstance(text, str):
            raise InvalidPromptData("a text prompt needs a string `prompt`")
        return TextPrompt(name, version, text, **common)
    if kind == "chat":
        messages = data.get("messages")
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages
        ):
            raise InvalidPromptData("a chat prompt needs `messages`: a list of {role, ...}")
        return ChatPrompt(name, version, messages, **common)
    raise InvalidPromptData(f"unknown prompt type {kind!r}")


def fallback_prompt(name: str, fallback: Any, label: str | None) -> Prompt:
    """The caller's `fallback=`: a string becomes a text prompt, a list of messages a chat one.

    Its version is None (it is no published version); its hash is that of its content.
    """
    if isinstance(fallback, str):
        return TextPrompt(name, None, fallback, source="fallback", label=label)
    if isinstance(fallback, list | tuple) and all(
        isinstance(m, Mapping) and "role" in m for m in fallback
    ):
        return ChatPrompt(name, None, fallback, source="fallback", label=label)
    raise TypeError(
        f"fallback for {name!r} must be a string (text prompt) or a list of "
        f"{{'role': ..., 'content': ...}} messages (chat prompt), not {type(fallback).__name__}"
    )


def identity_problem(key: tuple[str, Any, int | None], data: dict[str, Any]) -> str | None:
    """Why an answer is not the prompt asked for, or None: the name and version must be
    the ones requested (or ones the label is on), and the content must hash to `hash`."""
    name, label, version = key
    if data.get("name") != name:
        return f"the answer is prompt {data.get('name')!r}, not {name!r}"
    if version is not None and data.get("version") != version:
        return f"the answer is version {data.get('version')!r} of {name!r}, not {version}"
    labels = data.get("labels")
    if version is None and isinstance(labels, list) and label not in labels:
        return f"the answer is a version of {name!r} that does not carry the label {label!r}"
    claimed = data.get("hash")
    if not isinstance(claimed, str):
        return "the answer carries no content hash"
    try:
        actual = content_hash(
            content_of(
                data.get("type", "text"),
                data.get("prompt"),
                data.get("messages"),
                data.get("config"),
            )
        )
    except (TypeError, ValueError) as exc:
        return f"the answer's content cannot be hashed ({exc})"
    if actual != claimed:
        return f"the answer's content does not match its hash {claimed[:12]}…"
    return None
