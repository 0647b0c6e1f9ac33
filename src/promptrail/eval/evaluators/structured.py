"""Checks on JSON output: it parses, it satisfies a JSON Schema, a value at a path equals.

JSON Schema uses the `jsonschema` package (the `eval` extra), draft 2020-12 unless the
schema's `$schema` names another draft. A path is `$.a.b[0]` or `a.b.0`: keys and list
indexes, the subset of JSONPath that picks one value.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field, field_validator

from promptrail.errors import EvaluatorError
from promptrail.eval.evaluators.base import BaseSpec, BuildContext, Case, Evaluator, Score


def parse_json(case: Case) -> Any:
    if not isinstance(case.output, str):
        return case.output  # a task function may return structured data itself
    text = case.output.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    try:
        return json.loads(fenced.group(1) if fenced else text)
    except ValueError as exc:
        raise EvaluatorError(f"the output is not JSON: {exc}") from None


class ValidJson(Evaluator):
    type = "json"
    Spec = BaseSpec

    def evaluate(self, case: Case) -> Score:
        try:
            parse_json(case)
        except EvaluatorError as exc:
            return Score(False, str(exc))
        return Score(True)


class JsonSchemaSpec(BaseSpec):
    schema_: dict[str, Any] = Field(alias="schema")  # `schema` is taken on pydantic models

    @field_validator("schema_")
    @classmethod
    def _compiles(cls, schema: dict[str, Any]) -> dict[str, Any]:
        validator_for(schema)
        return schema


def validator_for(schema: dict[str, Any]) -> Any:
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        raise ValueError(
            "json_schema needs the `jsonschema` package: pip install 'promptrail[eval]'"
        ) from None
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "the top"
        raise ValueError(f"the JSON Schema does not compile (at {where}): {exc.message}") from None
    return cls(schema)


class JsonSchema(Evaluator):
    type = "json_schema"
    Spec = JsonSchemaSpec
    spec: JsonSchemaSpec

    def __init__(self, spec: JsonSchemaSpec, context: BuildContext):
        super().__init__(spec, context)
        self.validator = validator_for(spec.schema_)

    def evaluate(self, case: Case) -> Score:
        try:
            value = parse_json(case)
        except EvaluatorError as exc:
            return Score(False, str(exc))
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            return Score(True)
        first = errors[0]
        where = "/".join(str(part) for part in first.absolute_path) or "the top"
        return Score(False, f"at {where}: {first.message}")


_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


def parse_path(path: str) -> list[str | int]:
    text = path[1:] if path.startswith("$") else path
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read the path {path!r} at {text[pos:]!r} (write $.a.b[0])")
        key, index, quoted = match.groups()
        if index is not None:
            steps.append(int(index))
        elif quoted is not None:
            steps.append(quoted)
        else:
            steps.append(int(key) if key.isdigit() else key)
        pos = match.end()
    return steps


class JsonPathSpec(BaseSpec):
    path: str
    value: Any = None  # compare with this instead of the item's `expected`

    @field_validator("path")
    @classmethod
    def _parses(cls, path: str) -> str:
        parse_path(path)
        return path


class JsonPath(Evaluator):
    type = "json_path"
    Spec = JsonPathSpec
    spec: JsonPathSpec

    def evaluate(self, case: Case) -> Score:
        try:
            value = parse_json(case)
        except EvaluatorError as exc:
            return Score(False, str(exc))
        for step in parse_path(self.spec.path):
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return Score(False, f"nothing at {self.spec.path}")
        target = case.expected if self.spec.value is None else self.spec.value
        if target is None:
            raise EvaluatorError(
                "nothing to compare with: the item has no `expected` and no `value`"
            )
        return Score(value == target, None if value == target else f"found {value!r}")
