"""Templates: the fast path and Jinja agree, missing variables are named, compiles are cached."""

from __future__ import annotations

import time

import pytest

from promptrail.errors import MissingVariable, TemplateError
from promptrail.template import (
    Template,
    chat_variables,
    check_syntax,
    compile_chat,
    compile_template,
    compile_text,
    variables_of,
)


@pytest.mark.parametrize(
    "source",
    [
        "Hello {{name}}, about {{ topic }}.",
        "{{a}}{{b}}",
        "no variables at all\n",
        "trailing newline {{x}}\n",
        "Unicode ✓ {{ name }} — ok",
    ],
)
def test_fast_path_renders_like_jinja(source: str) -> None:
    import jinja2

    values = {"name": "Ann", "topic": "refunds", "a": 1, "b": "2", "x": "X"}
    fast = compile_template(source)
    assert fast._parts is not None  # took the fast path
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    used = {k: v for k, v in values.items() if k in fast.variables}
    assert fast.render(used) == env.from_string(source).render(used)


def test_jinja_features_go_through_the_sandbox() -> None:
    template = compile_template("{% if formal %}Dear {{ name | upper }}{% else %}Hi{% endif %}")
    assert template._parts is None
    assert template.variables == ("formal", "name")
    assert template.render({"formal": True, "name": "ann"}) == "Dear ANN"
    with pytest.raises(TemplateError, match="cannot render"):
        compile_text("{{ x.__class__.__mro__ }}", {"x": 1})


def test_missing_variables_are_named() -> None:
    with pytest.raises(MissingVariable) as info:
        compile_text("Write to {{customer}} about {{topic}}", {"topic": "x"}, "email")
    assert info.value.names == ["customer"]
    assert "'customer'" in str(info.value)
    assert "'email'" in str(info.value)
    with pytest.raises(MissingVariable) as info:
        compile_text("{% if a %}{{b}}{% endif %}", {})
    assert info.value.names == ["a", "b"]


def test_variable_discovery_ignores_loop_variables() -> None:
    assert variables_of("{% for item in items %}{{ item }} {{ sep }}{% endfor %}") == (
        "items",
        "sep",
    )
    variables, placeholders = chat_variables(
        [
            {"role": "system", "content": "For {{product}}"},
            {"role": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}} {{product}}"},
        ]
    )
    assert variables == ["product", "question"]
    assert placeholders == ["history"]


def test_chat_placeholder_takes_a_list_of_messages() -> None:
    messages = [
        {"role": "system", "content": "Hi {{name}}"},
        {"role": "placeholder", "name": "history"},
    ]
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    out = compile_chat(messages, {"name": "Ann", "history": history})
    assert out == [{"role": "system", "content": "Hi Ann"}, *history]
    with pytest.raises(MissingVariable) as info:
        compile_chat(messages, {})
    assert info.value.names == ["name", "history"]
    with pytest.raises(TemplateError, match="list of messages"):
        compile_chat(messages, {"name": "x", "history": "not a list"})


def test_syntax_errors_carry_the_line() -> None:
    with pytest.raises(TemplateError) as info:
        check_syntax("line one\nline two {{ oops\nline three")
    assert info.value.line in (2, 3)
    with pytest.raises(TemplateError, match="No filter named 'nope'"):
        check_syntax("{{ x | nope }}")


def test_compiles_are_cached_and_a_repeat_costs_microseconds() -> None:
    source = "{% if a %}{{ b }}{% endif %} cached"
    first = compile_template(source)
    assert compile_template(source) is first
    start = time.perf_counter()
    for _ in range(1000):
        compile_template(source)
    assert (time.perf_counter() - start) / 1000 < 50e-6
    assert isinstance(first, Template)
