"""Text checks: exact and case-insensitive match, contains / not-contains, regex."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from promptrail.eval.evaluators.base import (
    BaseSpec,
    BuildContext,
    Case,
    Evaluator,
    Score,
    expected_text,
)


class MatchSpec(BaseSpec):
    value: Any = None  # compare with this instead of the item's `expected`
    strip: bool = True


class Exact(Evaluator):
    """output == expected, after stripping surrounding whitespace."""

    type = "exact"
    Spec = MatchSpec
    spec: MatchSpec

    def evaluate(self, case: Case) -> Score:
        output, target = case.text, expected_text(case, self.spec.value)
        if self.spec.strip:
            output, target = output.strip(), target.strip()
        return Score(self._same(output, target))

    def _same(self, output: str, target: str) -> bool:
        return output == target


class CaseInsensitive(Exact):
    type = "iexact"

    def _same(self, output: str, target: str) -> bool:
        return output.casefold() == target.casefold()


class ContainsSpec(BaseSpec):
    value: str | None = None
    values: list[str] | None = None
    mode: Literal["any", "all"] = "any"  # with `values`: one of them, or every one
    ignore_case: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ContainsSpec:
        if (self.value is None) == (self.values is None):
            raise ValueError("give `value` (one text) or `values` (a list), not both or neither")
        if self.values is not None and not self.values:
            raise ValueError("`values` is empty")
        return self

    def needles(self) -> list[str]:
        return [self.value] if self.value is not None else list(self.values or [])


class Contains(Evaluator):
    type = "contains"
    Spec = ContainsSpec
    spec: ContainsSpec
    negate = False

    def evaluate(self, case: Case) -> Score:
        text, needles = case.text, self.spec.needles()
        if self.spec.ignore_case:
            text, needles = text.casefold(), [n.casefold() for n in needles]
        found = [needle for needle in needles if needle in text]
        hit = bool(found) if self.spec.mode == "any" else len(found) == len(needles)
        if self.negate:
            # not-contains any: none of them appears; all: not every one appears.
            return Score(not hit, f"found {found!r}" if found else None)
        missing = [needle for needle in needles if needle not in found]
        return Score(hit, f"missing {missing!r}" if missing and not hit else None)


class NotContains(Contains):
    type = "not_contains"
    negate = True


class RegexSpec(BaseSpec):
    pattern: str
    ignore_case: bool = False
    full: bool = False  # the whole output must match, not a part of it
    flags: list[Literal["multiline", "dotall"]] = Field(default_factory=list)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"the regular expression does not compile: {exc}") from None
        return pattern


class Regex(Evaluator):
    type = "regex"
    Spec = RegexSpec
    spec: RegexSpec

    def __init__(self, spec: RegexSpec, context: BuildContext):
        super().__init__(spec, context)
        flags = re.IGNORECASE if spec.ignore_case else 0
        flags |= re.MULTILINE if "multiline" in spec.flags else 0
        flags |= re.DOTALL if "dotall" in spec.flags else 0
        self.regex = re.compile(spec.pattern, flags)

    def evaluate(self, case: Case) -> Score:
        text = case.text.strip()
        match = self.regex.fullmatch(text) if self.spec.full else self.regex.search(text)
        return Score(match is not None)
