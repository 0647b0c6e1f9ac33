"""Custom evaluators: a Python function (`type: python`) and an LLM judge (`type: llm_judge`).

A function is given `input`, `output`, `expected`, `metadata` (and `latency_ms`, `cost`,
`item_id`), and returns a number, a boolean, a category (a string), a `(value, comment)`
pair, or a mapping `{score|value, comment|reason}`.

A judge is a prompt in the repository (`prompts/judges/helpful.yaml`): its variables are
filled from the item (`input`, `output`, `expected`, `metadata`, and each key of a mapping
input), and it answers JSON `{"score": ..., "reason": "..."}` (a bare `score: 4` line is
accepted too). Anything else is recorded as the evaluator's error on that item.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from typing import Any

from pydantic import field_validator

from promptrail.errors import EvaluatorError, TemplateError
from promptrail.eval.evaluators.base import BaseSpec, BuildContext, Case, Evaluator, Score
from promptrail.eval.functions import UserFunction


class PythonSpec(BaseSpec):
    function: str


class Python(Evaluator):
    type = "python"
    Spec = PythonSpec
    spec: PythonSpec
    is_async = True

    def __init__(self, spec: PythonSpec, context: BuildContext):
        super().__init__(spec, context)
        try:
            self.function = UserFunction(spec.function, context.root)
        except ValueError as exc:
            raise ValueError(f"`function`: {exc}") from None

    async def evaluate_async(self, case: Case) -> Score:
        try:
            result = await self.function.call(
                input=case.input,
                output=case.output,
                expected=case.expected,
                metadata=case.metadata,
                latency_ms=case.latency_ms,
                cost=case.cost,
                item_id=case.item_id,
            )
        except Exception as exc:
            reference = self.function.reference
            raise EvaluatorError(f"{reference} raised {type(exc).__name__}: {exc}") from None
        return as_score(result, self.function.reference)


def as_score(result: Any, source: str) -> Score:
    if isinstance(result, Score):
        return result
    comment = None
    if isinstance(result, tuple) and len(result) == 2:
        result, comment = result
    elif isinstance(result, dict):
        value = next((result[k] for k in ("score", "value") if k in result), None)
        comment = next((result[k] for k in ("comment", "reason") if k in result), None)
        result = value
    if isinstance(result, bool | str):
        return Score(result, None if comment is None else str(comment))
    if isinstance(result, int | float) and math.isfinite(result):
        return Score(float(result), None if comment is None else str(comment))
    raise EvaluatorError(
        f"{source} returned {result!r}: return a number, a bool, a category (str), "
        "(value, comment) or {score, comment}"
    )


class JudgeSpec(BaseSpec):
    prompt: str  # the judge prompt's name in the repository
    # An optional scale: scores are checked to lie within it (a judge outside it is wrong).
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None  # a categorical judge answers one of these
    model: str | None = None  # overrides the judge prompt's `config.model`

    @field_validator("prompt")
    @classmethod
    def _named(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("name the judge prompt, e.g. `judges/helpful`")
        return prompt


class LlmJudge(Evaluator):
    type = "llm_judge"
    Spec = JudgeSpec
    spec: JudgeSpec
    is_async = True

    def __init__(self, spec: JudgeSpec, context: BuildContext):
        super().__init__(spec, context)
        judge = context.prompts.get(spec.prompt)
        if judge is None:
            known = ", ".join(sorted(n for n in context.prompts if "judge" in n)) or "none"
            raise ValueError(
                f"`prompt`: no prompt named {spec.prompt!r} in the repository "
                f"(judge prompts found: {known}); add prompts/{spec.prompt}.yaml"
            )
        self.judge = judge
        self.complete = context.complete

    def variables(self, case: Case) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if isinstance(case.input, dict):
            values.update(case.input)
        values.update(
            input=_as_text(case.input),
            output=case.text,
            expected=_as_text(case.expected),
            metadata=case.metadata,
        )
        return values

    async def evaluate_async(self, case: Case) -> Score:
        if self.complete is None:
            raise EvaluatorError("no model endpoint to ask the judge")
        from promptrail.eval.prompts import render

        spec = self.judge.spec
        try:
            messages = render(spec, self.variables(case), self.judge.name)
        except TemplateError as exc:
            raise EvaluatorError(f"judge prompt {self.judge.name!r}: {exc}") from None
        config = dict(spec.config)
        if self.spec.model:
            config["model"] = self.spec.model
        reference = {"name": self.judge.name, "version": spec.version, "hash": self.judge.hash}
        answer = await self.complete(messages, config, reference)
        score = parse_judgement(answer)
        self._check_scale(score)
        return score

    def _check_scale(self, score: Score) -> None:
        value = score.value
        if self.spec.choices is not None:
            if str(value) not in self.spec.choices:
                raise EvaluatorError(
                    f"the judge answered {value!r}, not one of {self.spec.choices}"
                )
            score.value = str(value)
            return
        if isinstance(value, float):
            low, high = self.spec.min, self.spec.max
            if (low is not None and value < low) or (high is not None and value > high):
                raise EvaluatorError(f"the judge's score {value:g} is outside [{low}, {high}]")


_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_SCORE_LINE = re.compile(r"(?im)^\s*score\s*[:=]\s*(\S+)\s*$")
_REASON_LINE = re.compile(r"(?im)^\s*reason\s*[:=]\s*(.+)$")


def parse_judgement(answer: str) -> Score:
    """`{"score": 4, "reason": "..."}` (possibly fenced or amid prose) or `score: 4` lines."""
    text = answer.strip()
    for candidate in _json_candidates(text):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and ("score" in data or "value" in data):
            return as_score(data, "the judge")
    match = _SCORE_LINE.search(text)
    if match:
        raw = match.group(1).strip("\"'.,")
        reason = _REASON_LINE.search(text)
        value: Any = {"true": True, "false": False}.get(raw.lower(), raw)
        with contextlib.suppress(ValueError):
            value = float(raw)
        return Score(value, reason.group(1).strip() if reason else None)
    shown = text if len(text) <= 200 else text[:200] + "..."
    raise EvaluatorError(
        "the judge's answer is not a score: expected "
        f'{{"score": ..., "reason": ...}}, got {shown!r}'
    )


def _json_candidates(text: str) -> list[str]:
    candidates = [text]
    candidates += _FENCE.findall(text)
    whole = _OBJECT.search(text)
    if whole:
        candidates.append(whole.group())
    return candidates


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    )


__all__ = ["LlmJudge", "Python", "as_score", "parse_judgement"]
