"""Every evaluator type by name, and building them from the specs written in git.

`build(specs, context)` returns the evaluators or raises SpecErrors listing, per spec,
the field that is wrong; `promptrail validate` turns those into file:line problems.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from promptrail.eval.evaluators.base import BuildContext, Case, Evaluator, Score
from promptrail.eval.evaluators.bounds import Cost, Latency, Length, Numeric, TokenBounds, Words
from promptrail.eval.evaluators.custom import LlmJudge, Python
from promptrail.eval.evaluators.structured import JsonPath, JsonSchema, ValidJson
from promptrail.eval.evaluators.text import CaseInsensitive, Contains, Exact, NotContains, Regex

TYPES: dict[str, type[Evaluator]] = {
    cls.type: cls
    for cls in (
        Exact,
        CaseInsensitive,
        Contains,
        NotContains,
        Regex,
        ValidJson,
        JsonSchema,
        JsonPath,
        Numeric,
        Length,
        Words,
        TokenBounds,
        Latency,
        Cost,
        Python,
        LlmJudge,
    )
}


@dataclass
class SpecError:
    index: int  # which entry of the list
    field: str | None  # the key within it, when one is to blame
    message: str


class SpecErrors(ValueError):
    def __init__(self, errors: list[SpecError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def build(specs: list[dict[str, Any]], context: BuildContext) -> list[Evaluator]:
    evaluators: list[Evaluator] = []
    errors: list[SpecError] = []
    names: dict[str, int] = {}
    for index, raw in enumerate(specs):
        try:
            evaluator = build_one(raw, context)
        except SpecErrors as exc:
            errors.extend(SpecError(index, e.field, e.message) for e in exc.errors)
            continue
        if evaluator.name in names:
            errors.append(
                SpecError(
                    index,
                    "name",
                    f"two evaluators are named {evaluator.name!r} (entries "
                    f"{names[evaluator.name] + 1} and {index + 1}): give one a `name:`",
                )
            )
            continue
        names[evaluator.name] = index
        evaluators.append(evaluator)
    if errors:
        raise SpecErrors(errors)
    return evaluators


def build_one(raw: Any, context: BuildContext, types: dict[str, type[Evaluator]] = TYPES) -> Any:
    if not isinstance(raw, dict):
        raise SpecErrors(
            [SpecError(0, None, "an evaluator is a mapping: {type: exact, name: ...}")]
        )
    kind = raw.get("type")
    if kind is None:
        raise SpecErrors([SpecError(0, None, f"an evaluator needs `type:` ({_known(types)})")])
    cls = types.get(str(kind))
    if cls is None:
        close = difflib.get_close_matches(str(kind), list(types), n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else f" (known: {_known(types)})"
        raise SpecErrors([SpecError(0, "type", f"unknown evaluator type {kind!r}{hint}")])
    try:
        spec = cls.Spec.model_validate(raw)
    except ValidationError as exc:
        raise SpecErrors(
            [_pydantic_error(error, cls.Spec.model_fields) for error in exc.errors()]
        ) from None
    try:
        return cls(spec, context)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        if field.startswith("`") and field.endswith("`"):
            raise SpecErrors([SpecError(0, field.strip("`"), f"{kind}: {message}")]) from None
        raise SpecErrors([SpecError(0, None, f"{kind}: {exc}")]) from None


def _pydantic_error(error: Any, fields: dict[str, Any]) -> SpecError:
    loc = [str(part) for part in error["loc"]]
    field = loc[0].rstrip("_") if loc else None
    if error["type"] == "extra_forbidden":
        known = ", ".join(name.rstrip("_") for name in fields)
        return SpecError(0, field, f"`{field}` is not a field of this evaluator (fields: {known})")
    text = str(error["msg"]).removeprefix("Value error, ")
    where = f"`{'.'.join(loc).replace('schema_', 'schema')}`: " if loc else ""
    return SpecError(0, field, f"{where}{text}")


def _known(types: dict[str, type[Evaluator]]) -> str:
    return ", ".join(sorted(types))


__all__ = [
    "TYPES",
    "BuildContext",
    "Case",
    "Evaluator",
    "Score",
    "SpecError",
    "SpecErrors",
    "build",
]
