"""Numeric closeness, and bounds on length, tokens, latency and cost."""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from typing import Any

from pydantic import Field, model_validator

from promptrail.errors import EvaluatorError
from promptrail.eval.evaluators.base import BaseSpec, Case, Evaluator, Score

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class NumericSpec(BaseSpec):
    value: float | None = None  # compare with this instead of the item's `expected`
    tolerance: float = Field(default=0.0, ge=0)  # absolute
    relative: float = Field(default=0.0, ge=0)  # fraction of the target


class Numeric(Evaluator):
    """The first number in the output is within tolerance of the target."""

    type = "numeric"
    Spec = NumericSpec
    spec: NumericSpec

    def evaluate(self, case: Case) -> Score:
        target = self.spec.value if self.spec.value is not None else case.expected
        try:
            target = float(target)
        except (TypeError, ValueError):
            raise EvaluatorError(f"the target {target!r} is not a number") from None
        if isinstance(case.output, int | float) and not isinstance(case.output, bool):
            found = float(case.output)
        else:
            match = _NUMBER.search(case.text.replace(",", ""))
            if match is None:
                return Score(False, "no number in the output")
            found = float(match.group())
        close = math.isclose(found, target, abs_tol=self.spec.tolerance, rel_tol=self.spec.relative)
        return Score(close, None if close else f"{found:g} is not {target:g}")


class RangeSpec(BaseSpec):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> RangeSpec:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min}) is above `max` ({self.max})")
        return self


class _Bound(Evaluator, ABC):
    Spec = RangeSpec
    spec: RangeSpec
    unit = ""

    @abstractmethod
    def measure(self, case: Case) -> float | None: ...

    def evaluate(self, case: Case) -> Score:
        value = self.measure(case)
        if value is None:
            raise EvaluatorError(f"no {self.type} was recorded for this item")
        low, high = self.spec.min, self.spec.max
        inside = (low is None or value >= low) and (high is None or value <= high)
        return Score(inside, None if inside else f"{value:g}{self.unit} is out of bounds")


class Length(_Bound):
    """Characters of the output, surrounding whitespace stripped."""

    type = "length"
    unit = " characters"

    def measure(self, case: Case) -> float | None:
        return float(len(case.text.strip()))


class Words(_Bound):
    type = "words"
    unit = " words"

    def measure(self, case: Case) -> float | None:
        return float(len(case.text.split()))


class TokenBounds(_Bound):
    """Output tokens as the endpoint reported them."""

    type = "tokens"
    unit = " tokens"

    def measure(self, case: Case) -> float | None:
        return None if case.tokens is None or case.tokens.output is None else case.tokens.output


class Latency(_Bound):
    type = "latency"
    unit = " ms"

    def measure(self, case: Case) -> float | None:
        return case.latency_ms


class Cost(_Bound):
    type = "cost"
    unit = " USD"

    def measure(self, case: Case) -> float | None:
        return case.cost


def as_number(value: Any) -> float | None:
    """A score as a number for a mean: booleans count 1 and 0, categories not at all."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None
