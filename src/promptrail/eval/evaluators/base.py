"""What every evaluator shares: the case it scores, the score it gives, and its spec model.

An evaluator is built once per run from its spec (the mapping written under
`evaluators:`), then called once per item with a `Case`. It returns a `Score`, or raises
EvaluatorError, which the runner records on the item instead of a score.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from promptrail.api.eval import ScoreValue, Tokens
from promptrail.errors import EvaluatorError


@dataclass
class Case:
    """One answer to score: the item, what came out, and what it cost."""

    input: Any
    output: Any
    expected: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    item_id: str = ""
    latency_ms: float | None = None
    cost: float | None = None
    tokens: Tokens | None = None

    @property
    def text(self) -> str:
        """The output as text: strings as they are, anything else as JSON."""
        if isinstance(self.output, str):
            return self.output
        if self.output is None:
            return ""
        return json.dumps(self.output, ensure_ascii=False, sort_keys=True)


@dataclass
class Score:
    value: ScoreValue
    comment: str | None = None


# A judge calls the model through the runner (its client, cache and limits): messages,
# the judge prompt's config and its reference {name, version, hash} in, the reply out.
Complete = Callable[[list[dict[str, Any]], dict[str, Any], dict[str, Any]], Awaitable[str]]


@dataclass
class BuildContext:
    """What building an evaluator may need from its surroundings."""

    root: Path | None = None  # where `module:function` is imported from
    prompts: dict[str, Any] = field(default_factory=dict)  # name -> LoadedPrompt (judges)
    complete: Complete | None = None  # None when only checking specs (validate)


class BaseSpec(BaseModel):
    """Fields common to every evaluator spec; each type adds its own."""

    model_config = ConfigDict(extra="forbid")

    type: str
    name: str | None = None


class Evaluator:
    Spec: ClassVar[type[BaseSpec]]  # before `type`, which shadows the builtin in this body
    type: ClassVar[str]
    is_async: ClassVar[bool] = False

    def __init__(self, spec: Any, context: BuildContext):
        self.spec = spec
        self.name: str = spec.name or spec.type

    def evaluate(self, case: Case) -> Score:
        # Not abstract: an async evaluator overrides evaluate_async alone, and never gets here.
        raise TypeError(f"{type(self).__name__} overrides neither evaluate nor evaluate_async")

    async def evaluate_async(self, case: Case) -> Score:
        return self.evaluate(case)


def expected_text(case: Case, value: Any) -> str:
    """The text an output is compared with: the spec's `value`, else the item's expected."""
    target = case.expected if value is None else value
    if target is None:
        raise EvaluatorError("nothing to compare with: the item has no `expected` and no `value`")
    return target if isinstance(target, str) else json.dumps(target, sort_keys=True)
