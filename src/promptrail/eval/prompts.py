"""A prompt version as the messages an OpenAI-compatible endpoint takes."""

from __future__ import annotations

from typing import Any

from promptrail.api.registry import PublishedVersion
from promptrail.errors import TemplateError
from promptrail.repo.spec import PromptFile
from promptrail.template import compile_chat, compile_text

# Config keys that are about promptrail or the app, never sent to the endpoint.
NOT_PARAMETERS = frozenset({"model"})


def render(
    spec: PromptFile | PublishedVersion, variables: Any, name: str | None = None
) -> list[dict[str, Any]]:
    """Chat messages for `variables`; a text prompt becomes one user message."""
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise TemplateError(
            f"the item's `input` must be a mapping of the prompt's variables, "
            f"not {type(variables).__name__} (a task function takes free-form input)"
        )
    if spec.type == "chat":
        messages = spec.messages_as_dicts() if isinstance(spec, PromptFile) else spec.messages
        return compile_chat(messages or [], variables, name)
    return [{"role": "user", "content": compile_text(spec.prompt or "", variables, name)}]


def parameters(config: dict[str, Any]) -> dict[str, Any]:
    """The model parameters of a prompt's config (everything but `model`)."""
    return {key: value for key, value in config.items() if key not in NOT_PARAMETERS}
