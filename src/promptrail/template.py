"""Templates: `{{variable}}` substitution, Jinja2 (sandboxed) for anything more.

Most prompts only substitute variables, so those never touch Jinja2: they are split once
into literal parts and names, and a compile is a join. Anything else (filters, `{% if %}`)
goes to Jinja2's sandbox with undefined variables made errors. Both are cached by source,
and Jinja2 is imported only when a template needs it, which keeps `import promptrail` light.

Templates come from pull requests, so no template may cost without bound: the sandbox
refuses `*`, `**` and `%` whose result would be huge (also when Jinja2 would fold them
at parse time, which `validate` does), and `render_bounded` (the server's preview) adds a
time and an output limit. Every failure is a TemplateError naming the prompt.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import FrameType
from typing import Any

from promptrail.errors import MissingVariable, TemplateError

PLACEHOLDER = "placeholder"
_SIMPLE_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_JINJA_MARKERS = ("{{", "{%", "{#")
MAX_REPEAT = 1_000_000  # items a `*` may build ('-' * 80 is fine; 'x' * 10**7 is not)
MAX_POWER_BITS = 4096  # size of the result of `**`
MAX_FORMAT_WIDTH = 10_000  # width or precision in a `%` format
PREVIEW_SECONDS = 2.0  # render_bounded's defaults
PREVIEW_CHARS = 1_000_000


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
        try:
            if self._jinja is None:
                self._jinja = _environment.from_string(self._tree)
            return str(self._jinja.render(variables))
        except TemplateError:
            raise
        except Exception as exc:  # sandbox violations, undefined attributes, type errors
            raise _failure("cannot render", exc, prompt) from exc

    def render_bounded(
        self,
        variables: Mapping[str, Any],
        prompt: str | None = None,
        *,
        seconds: float = PREVIEW_SECONDS,
        max_chars: int = PREVIEW_CHARS,
    ) -> str:
        """render() that gives up with a TemplateError after `seconds` or `max_chars`.

        Meant for templates someone else wrote (the server's preview), on a worker thread:
        the time is checked at each line the template's code runs, in this thread only.
        """
        if self._parts is not None:
            text = self.render(variables, prompt)
        else:
            missing = self.missing(variables)
            if missing:
                raise MissingVariable(missing, prompt)
            try:
                if self._jinja is None:
                    self._jinja = _environment.from_string(self._tree)
                text = _bounded(self._jinja, variables, seconds, max_chars, prompt)
            except TemplateError:
                raise
            except Exception as exc:
                raise _failure("cannot render", exc, prompt) from exc
        if len(text) > max_chars:
            raise _too_long(max_chars, prompt)
        return text

    def missing(self, variables: Mapping[str, Any]) -> list[str]:
        return [name for name in self.variables if name not in variables]


def _failure(what: str, exc: BaseException, prompt: str | None) -> TemplateError:
    of = f" {prompt!r}" if prompt else ""
    if isinstance(exc, RecursionError):
        return TemplateError(f"{what}{of}: the template is nested too deeply")
    return TemplateError(f"{what}{of}: {type(exc).__name__}: {exc}")


def _too_long(max_chars: int, prompt: str | None) -> TemplateError:
    of = f" {prompt!r}" if prompt else ""
    return TemplateError(f"cannot render{of}: the output is longer than {max_chars:,} characters")


def _bounded(
    template: Any, variables: Mapping[str, Any], seconds: float, max_chars: int, prompt: str | None
) -> str:
    deadline = time.monotonic() + seconds
    of = f" {prompt!r}" if prompt else ""

    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise TemplateError(f"cannot render{of}: it ran longer than {seconds:g} s")
        return on_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # Only the template's own code (loops, macros) is timed: library code is bounded.
        return on_line if frame.f_code.co_filename == "<template>" else None

    out: list[str] = []
    size = 0
    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > max_chars:
                raise _too_long(max_chars, prompt)
            out.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(out)


def _is_plain(source: str) -> bool:
    """Only `{{name}}` substitutions: the fast path can render it."""
    plain = _SIMPLE_VAR.sub("", source)
    return not any(marker in plain for marker in _JINJA_MARKERS) and "}}" not in plain


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    return Template(source)


def template_for(source: str, prompt: str | None = None) -> Template:
    """compile_template, with the prompt's name in the error when the template is broken."""
    try:
        return compile_template(source)
    except TemplateError as exc:
        if prompt is None or repr(prompt) in str(exc):
            raise
        raise TemplateError(f"prompt {prompt!r}: {exc}", exc.line) from None


def _render(
    template: Template, variables: Mapping[str, Any], prompt: str | None, bounded: bool
) -> str:
    if bounded:
        return template.render_bounded(variables, prompt)
    return template.render(variables, prompt)


_environment: Any = None


def _jinja_environment() -> Any:
    global _environment
    if _environment is None:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        class BoundedEnvironment(ImmutableSandboxedEnvironment):
            # Intercepted operators are also never folded at parse time.
            intercepted_binops = frozenset({"*", "**", "%"})

            def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
                _check_binop(operator, left, right)
                return super().call_binop(context, operator, left, right)

        _environment = BoundedEnvironment(
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,  # same text as the fast path
            autoescape=False,
        )
    return _environment


_FORMAT_SIZE = re.compile(r"%[-#0 +]*(\d+)?(?:\.(\d+))?")


def _check_binop(operator: str, left: Any, right: Any) -> None:
    from jinja2.exceptions import SecurityError

    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            sized = isinstance(sequence, str | list | tuple) and isinstance(count, int)
            if sized and len(sequence) * count > MAX_REPEAT:
                raise SecurityError(f"`*` would build more than {MAX_REPEAT:,} items")
    elif operator == "**":
        whole = isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
        if whole and right * abs(left).bit_length() > MAX_POWER_BITS:
            raise SecurityError(f"`**` would make a number of more than {MAX_POWER_BITS} bits")
    elif operator == "%" and isinstance(left, str):
        for match in _FORMAT_SIZE.finditer(left):
            if any(int(group) > MAX_FORMAT_WIDTH for group in match.groups() if group):
                raise SecurityError(f"a `%` format wider than {MAX_FORMAT_WIDTH:,} characters")


def _parse_jinja(source: str) -> tuple[Any, tuple[str, ...]]:
    import jinja2
    from jinja2 import meta

    try:
        tree = _jinja_environment().parse(source)
        # Generates code once (unknown filters and tests are found here, not in parse()).
        names = sorted(meta.find_undeclared_variables(tree))
    except jinja2.TemplateSyntaxError as exc:  # TemplateAssertionError too
        raise TemplateError(f"template syntax: {exc.message}", exc.lineno) from None
    except Exception as exc:  # too deeply nested, a number too long to read, ...
        raise _failure("template syntax", exc, None) from None
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
    except Exception as exc:
        raise _failure("template syntax", exc, None) from None
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


def compile_text(
    text: str, variables: Mapping[str, Any], prompt: str | None = None, *, bounded: bool = False
) -> str:
    """The filled-in text; `bounded` limits time and size (templates written by others)."""
    return _render(template_for(text, prompt), variables, prompt, bounded)


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
    *,
    bounded: bool = False,
) -> list[dict[str, Any]]:
    """Render each message; a placeholder becomes the list of messages given under its name."""
    missing: list[str] = []
    for message in messages:
        if message.get("role") == PLACEHOLDER:
            if message["name"] not in variables:
                missing.append(message["name"])
        else:
            missing.extend(template_for(message.get("content", ""), prompt).missing(variables))
    if missing:
        raise MissingVariable(list(dict.fromkeys(missing)), prompt)
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.get("role") == PLACEHOLDER:
            out.extend(_placeholder_messages(message["name"], variables[message["name"]], prompt))
        else:
            template = template_for(message.get("content", ""), prompt)
            content = _render(template, variables, prompt, bounded)
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
