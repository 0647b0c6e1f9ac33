"""`promptrail render NAME --var k=v`: compile a prompt locally and print it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from promptrail.errors import ProblemsFound, UsageError
from promptrail.repo.repository import PromptRepo
from promptrail.template import compile_chat, compile_text


def parse_vars(pairs: list[str]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--var takes key=value, got {pair!r}")
        variables[key] = value
    return variables


def command(
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. support/triage.")],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", metavar="KEY=VALUE", help="A variable (repeat for more)."),
    ] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Read the prompt at this git ref.")
    ] = None,
    messages_json: Annotated[
        Path | None,
        typer.Option(
            "--messages-json",
            help='JSON file: {"placeholder name": [{"role": ..., "content": ...}, ...]}.',
        ),
    ] = None,
    path: Annotated[str, typer.Option("--path", help="Repository root.")] = ".",
    output_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compile a prompt with variables and print the result."""
    variables: dict[str, Any] = dict(parse_vars(var or []))
    if messages_json is not None:
        try:
            slots = json.loads(messages_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--messages-json {messages_json}: {exc}") from None
        if not isinstance(slots, dict):
            raise UsageError(f"--messages-json {messages_json}: expected an object of lists")
        variables.update(slots)
    repo = PromptRepo(path)
    prompts = repo.load(ref, names=[name])
    if name not in prompts:
        if prompts.problems:
            raise ProblemsFound([p for p in prompts.problems if p.name == name] or prompts.problems)
        where = f"at {ref}" if ref else f"in {repo.prompts_path}"
        raise UsageError(f"no prompt named {name!r} {where}")
    prompt = prompts[name].spec
    if prompt.type == "chat":
        messages = compile_chat(prompt.messages_as_dicts() or [], variables, name)
        if output_json:
            print(json.dumps(messages, indent=2, ensure_ascii=False))
        else:
            for message in messages:
                print(f"[{message['role']}]\n{message['content']}\n")
    else:
        text = compile_text(prompt.prompt or "", variables, name)
        print(json.dumps({"prompt": text}, ensure_ascii=False) if output_json else text)
