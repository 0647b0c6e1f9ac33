"""Templates: `{{variable}}` substitution, Jinja2 (sandboxed) for anything more.

Most prompts only substitute variables, so those never touch Jinja2: they are split once
into literal parts and names, and a compile is a join. Anything else (filters, `{% if %}`)
goes to Jinja2's sandbox with undefined variables made errors. Both are cached by source,
and Jinja2 is imported only when a template needs it, which keeps `import promptrail` light.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from promptrail.errors import MissingVariable, TemplateError

PLACEHOLDER = "placeholder"
_SIMPLE_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_JINJA_MARKERS = ("{{", "{%", "{#")


class Template:
    """A compiled template. `render()` raises MissingVariable naming every variable not given."""

    __slots__ = ("_jinja", "_parts", "_tree", "source", "variables")

    def __init__(self, source: str):
        self.source = source
        self._jinja: Any = None
        self._tree: Any = None
        if _is_plain(source):
            # Even indexes are literal text, odd ones variable names.
            self._parts: list[str] | None = _SIMPLE_VAR.split(source)
            self.variables: tuple[str, ...] = tuple(dict.fromkeys(self._parts[1::2]))
        else:
            self._parts = None
            # Parsed and checked now; turned into Python code on first render only, which
            # halves the cost of `validate` (it never renders).
            self._tree, self.variables = _parse_jinja(source)

    def render(self, variables: Mapping[str, Any], prompt: str | None = None) -> str:
        parts = self._parts
        if parts is not None:
            try:
                out = [parts[0]]
                for i in range(1, len(parts), 2):
                    out.append(str(variables[parts[i]]))
                    out.append(parts[i + 1])
            except KeyError:
                raise MissingVariable(self.missing(variables), prompt) from None
            return "".join(out)
        missing = self.missing(variables)
        if missing:
            raise MissingVariable(missing, prompt)
        if self._jinja is None:
            self._jinja = _environment.from_string(self._tree)
        try:
            return str(self._jinja.render(variables))
        except Exception as exc:  # sandbox violations, undefined attributes, type errors
            raise TemplateError(f"cannot render{f' {prompt!r}' if prompt else ''}: {exc}") from exc

    def missing(self, variables: Mapping[str, Any]) -> list[str]:
        return [name for name in self.variables if name not in variables]


def _is_plain(source: str) -> bool:
    """Only `{{name}}` substitutions: the fast path can render it."""
    plain = _SIMPLE_VAR.sub("", source)
    return not any(marker in plain for marker in _JINJA_MARKERS) and "}}" not in plain


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    return Template(source)


_environment: Any = None


def _jinja_environment() -> Any:
    global _environment
    if _environment is None:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        _environment = ImmutableSandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,  # same text as the fast path
            autoescape=False,
        )
    return _environment


def _parse_jinja(source: str) -> tuple[Any, tuple[str, ...]]:
    import jinja2
    from jinja2 import meta

    try:
        tree = _jinja_environment().parse(source)
        # Generates code once (unknown filters and tests are found here, not in parse()).
        names = sorted(meta.find_undeclared_variables(tree))
    except jinja2.TemplateSyntaxError as exc:  # TemplateAssertionError too
        raise TemplateError(f"template syntax: {exc.message}", exc.lineno) from None
    return tree, _ordered_by_appearance(source, names)


def _ordered_by_appearance(source: str, names: Sequence[str]) -> tuple[str, ...]:
    def first_use(name: str) -> int:
        match = re.search(rf"\b{re.escape(name)}\b", source)
        return match.start() if match else len(source)

    return tuple(sorted(names, key=first_use))


def variables_of(text: str) -> tuple[str, ...]:
    return compile_template(text).variables


def check_syntax(text: str) -> None:
    """Raise TemplateError (with the line inside `text`) when the template does not parse
    or names a filter or test that does not exist.

    Cheaper than compile_template (no code generated, nothing cached): `validate` checks
    thousands of templates once each. Errors only code generation finds (a block defined
    twice, assigning to `loop`) surface when the template is compiled.
    """
    if _is_plain(text):
        return
    from jinja2 import TemplateSyntaxError, nodes

    environment = _jinja_environment()
    try:
        tree = environment.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax: {exc.message}", exc.lineno) from None
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        is_filter = isinstance(node, nodes.Filter)
        if node.name not in (environment.filters if is_filter else environment.tests):
            kind = "filter" if is_filter else "test"
            raise TemplateError(f"template syntax: No {kind} named {node.name!r}.", node.lineno)


def chat_variables(messages: Sequence[Mapping[str, str]]) -> tuple[list[str], list[str]]:
    """(variables, placeholders) used by a chat prompt, in order of first appearance."""
    variables: dict[str, None] = {}
    placeholders: list[str] = []
    for message in messages:
        if message.get("role") == PLACEHOLDER:
            placeholders.append(message["name"])
        else:
            variables.update(dict.fromkeys(variables_of(message.get("content", ""))))
    return list(variables), placeholders


def compile_text(text: str, variables: Mapping[str, Any], prompt: str | None = None) -> str:
    return compile_template(text).render(variables, prompt)


class ChatTemplate:
    """Chat messages compiled once: each a role and a Template, or a placeholder's name."""

    __slots__ = ("messages", "steps")

    def __init__(self, messages: Sequence[Mapping[str, str]]):
        self.messages = messages
        self.steps: tuple[tuple[str, Template | None], ...] = tuple(
            (m["name"], None)
            if m.get("role") == PLACEHOLDER
            else (m["role"], compile_template(m.get("content", "")))
            for m in messages
        )

    def render(
        self, variables: Mapping[str, Any], prompt: str | None = None
    ) -> list[dict[str, Any]]:
        """Render each message; a placeholder becomes the messages given under its name.
        MissingVariable names every variable and placeholder not given."""
        out: list[dict[str, Any]] = []
        try:
            for role, template in self.steps:
                if template is None:
                    out.extend(_placeholder_messages(role, variables[role], prompt))
                else:
                    out.append({"role": role, "content": template.render(variables, prompt)})
        except (KeyError, MissingVariable):
            return compile_chat(self.messages, variables, prompt)  # raises, naming them all
        return out


def compile_chat(
    messages: Sequence[Mapping[str, str]],
    variables: Mapping[str, Any],
    prompt: str | None = None,
) -> list[dict[str, Any]]:
    """Render each message; a placeholder becomes the list of messages given under its name."""
    missing: list[str] = []
    for message in messages:
        if message.get("role") == PLACEHOLDER:
            if message["name"] not in variables:
                missing.append(message["name"])
        else:
            missing.extend(compile_template(message.get("content", "")).missing(variables))
    if missing:
        raise MissingVariable(list(dict.fromkeys(missing)), prompt)
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.get("role") == PLACEHOLDER:
            out.extend(_placeholder_messages(message["name"], variables[message["name"]], prompt))
        else:
            content = compile_template(message.get("content", "")).render(variables, prompt)
            out.append({"role": message["role"], "content": content})
    return out


def _placeholder_messages(name: str, value: Any, prompt: str | None) -> list[dict[str, Any]]:
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise TemplateError(
            f"placeholder {name!r}{f' of {prompt!r}' if prompt else ''} takes a list of messages "
            f"like [{{'role': 'user', 'content': '...'}}], not {type(value).__name__}"
        )
    messages = []
    for item in value:
        if not isinstance(item, Mapping) or "role" not in item:
            raise TemplateError(f"placeholder {name!r}: each message needs a `role` (got {item!r})")
        messages.append(dict(item))
    return messages
