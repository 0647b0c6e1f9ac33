"""`promptrail get NAME [--label L | --version N]`: what the registry serves."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from promptrail.cli.common import ApiKeyOption, RegistryOption
from promptrail.errors import UsageError


def command(
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. support/triage.")],
    label: Annotated[
        str | None, typer.Option("--label", help="Label to fetch (default production).")
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Version number to fetch.")
    ] = None,
    output_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    registry: RegistryOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Fetch a prompt from the registry by label or version and print it."""
    from promptrail.api.client import RegistryClient

    if label is not None and version is not None:
        raise UsageError("give --label or --version, not both")
    with RegistryClient(registry, api_key) as client:
        prompt = client.get(name, label=label, version=version)
    if output_json:
        print(json.dumps(prompt.model_dump(exclude_none=True), indent=2, ensure_ascii=False))
        return
    labels = ", ".join(prompt.labels) or "no labels"
    print(f"{prompt.name} v{prompt.version} ({prompt.type}; {labels}; hash {prompt.hash[:12]})")
    if prompt.config:
        print("config: " + json.dumps(prompt.config, ensure_ascii=False, sort_keys=True))
    if prompt.tags:
        print("tags: " + ", ".join(prompt.tags))
    print()
    if prompt.type == "chat":
        for message in prompt.messages or []:
            if message.get("role") == "placeholder":
                print(f"[placeholder: {message.get('name')}]\n")
            else:
                print(f"[{message.get('role')}]\n{message.get('content', '')}\n")
    else:
        print(prompt.prompt or "")
