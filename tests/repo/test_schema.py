"""`promptrail schema`: a JSON Schema editors can use, matching what validate accepts."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from conftest import EXAMPLE_PROMPTS, run_cli


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    result = run_cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_schema_accepts_the_example_prompts(validator: jsonschema.Draft7Validator) -> None:
    files = sorted(EXAMPLE_PROMPTS.rglob("*.yaml"))
    assert len(files) == 4
    for file in files:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(file.read_text()))]
        assert errors == [], file


def test_schema_has_descriptions_for_editors(validator: jsonschema.Draft7Validator) -> None:
    assert validator.schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    props = validator.schema["properties"]
    assert all(props[key].get("description") for key in props)
    assert "promptrail version" in props["version"]["description"]


@pytest.mark.parametrize(
    "document",
    [
        {"version": 1, "prompt": "x", "promt": "typo"},
        {"version": 0, "prompt": "x"},
        {"version": 1, "type": "chat", "prompt": "x"},
        {"version": 1, "prompt": "x", "messages": [{"role": "user", "content": "x"}]},
        {"version": 1, "type": "chat", "messages": [{"content": "no role"}]},
        {"version": 1, "type": "chat", "messages": [{"role": "placeholder", "content": "x"}]},
        {"version": 1, "prompt": "x", "labels": ["latest"]},
        {"version": 1, "prompt": "x", "labels": {"production": "one"}},
    ],
)
def test_schema_rejects_what_validate_rejects(
    validator: jsonschema.Draft7Validator, document: dict[str, object]
) -> None:
    assert list(validator.iter_errors(document))
