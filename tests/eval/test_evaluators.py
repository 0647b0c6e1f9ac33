"""Each built-in evaluator on outputs that pass and outputs that fail, and the Python API."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from promptrail.api.eval import Tokens
from promptrail.errors import EvaluatorError, UsageError
from promptrail.eval import run_experiment
from promptrail.eval.evaluators import BuildContext, SpecErrors, build, build_one
from promptrail.eval.evaluators.base import Case
from promptrail.eval.evaluators.custom import parse_judgement


def score(spec: dict[str, Any], output: Any, expected: Any = None, **case: Any) -> Any:
    evaluator = build_one(spec, BuildContext())
    given = Case(input={}, output=output, expected=expected, **case)
    if evaluator.is_async:
        return asyncio.run(evaluator.evaluate_async(given)).value
    return evaluator.evaluate(given).value


@pytest.mark.parametrize(
    ("spec", "output", "expected", "verdict"),
    [
        ({"type": "exact"}, " Paris\n", "Paris", True),
        ({"type": "exact"}, "paris", "Paris", False),
        ({"type": "exact", "value": "Lima"}, "Lima", "Paris", True),
        ({"type": "iexact"}, "PARIS ", "paris", True),
        ({"type": "contains", "value": "Paris"}, "It is Paris.", None, True),
        ({"type": "contains", "value": "paris"}, "It is Paris.", None, False),
        ({"type": "contains", "value": "paris", "ignore_case": True}, "It is Paris.", None, True),
        ({"type": "contains", "values": ["Rome", "Paris"]}, "Paris", None, True),
        ({"type": "contains", "values": ["Rome", "Paris"], "mode": "all"}, "Paris", None, False),
        ({"type": "not_contains", "values": ["sorry", "cannot"]}, "Paris", None, True),
        ({"type": "not_contains", "values": ["sorry", "cannot"]}, "Sorry, I cannot", None, False),
        ({"type": "not_contains", "value": "cannot"}, "I cannot", None, False),
        (
            {"type": "not_contains", "values": ["sorry", "cannot"], "mode": "all"},
            "I cannot",
            None,
            True,
        ),
        ({"type": "regex", "pattern": "^[A-Z][a-z]+$"}, "Paris\n", None, True),
        ({"type": "regex", "pattern": "^[A-Z][a-z]+$"}, "Paris, France", None, False),
        ({"type": "regex", "pattern": "\\d+", "full": True}, "42", None, True),
        ({"type": "json"}, '{"a": 1}', None, True),
        ({"type": "json"}, '```json\n{"a": 1}\n```', None, True),
        ({"type": "json"}, "{a: 1}", None, False),
        (
            {"type": "json_schema", "schema": {"type": "object", "required": ["q"]}},
            '{"q": 1}',
            None,
            True,
        ),
        (
            {"type": "json_schema", "schema": {"type": "object", "required": ["q"]}},
            '{"r": 1}',
            None,
            False,
        ),
        (
            {"type": "json_schema", "schema": {"prefixItems": [{"type": "integer"}]}},
            '["x"]',  # prefixItems exists from draft 2020-12 on: proof of the draft used
            None,
            False,
        ),
        ({"type": "json_path", "path": "$.a.b[1]"}, '{"a": {"b": [0, 7]}}', 7, True),
        ({"type": "json_path", "path": "a.b.0", "value": 1}, '{"a": {"b": [0]}}', None, False),
        ({"type": "json_path", "path": "$.missing"}, '{"a": 1}', 1, False),
        ({"type": "numeric", "tolerance": 0.01}, "It is 3.14159", 3.14, True),
        ({"type": "numeric"}, "about 1,200 people", 1200, True),
        ({"type": "numeric", "relative": 0.1}, "105", 100, True),
        ({"type": "numeric", "relative": 0.01}, "105", 100, False),
        ({"type": "numeric"}, "no number", 1, False),
        ({"type": "length", "max": 5}, " Paris ", None, True),
        ({"type": "length", "min": 6}, "Paris", None, False),
        ({"type": "words", "min": 2, "max": 3}, "one two three", None, True),
    ],
)
def test_builtin_evaluators(
    spec: dict[str, Any], output: str, expected: Any, verdict: bool
) -> None:
    assert score(spec, output, expected) is verdict


def test_token_latency_and_cost_bounds_read_what_the_call_recorded() -> None:
    tokens = Tokens(input=10, output=40, total=50)
    assert score({"type": "tokens", "max": 50}, "x", tokens=tokens) is True
    assert score({"type": "tokens", "max": 30}, "x", tokens=tokens) is False
    assert score({"type": "latency", "max": 100}, "x", latency_ms=80.0) is True
    assert score({"type": "latency", "max": 100}, "x", latency_ms=120.0) is False
    assert score({"type": "cost", "max": 0.001}, "x", cost=0.002) is False
    with pytest.raises(EvaluatorError, match="no cost was recorded"):
        score({"type": "cost", "max": 0.001}, "x")


def test_exact_without_anything_to_compare_is_an_evaluator_error() -> None:
    with pytest.raises(EvaluatorError, match="no `expected`"):
        score({"type": "exact"}, "Paris")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "contains"}, "give `value` (one text) or `values`"),
        ({"type": "regex", "pattern": "("}, "does not compile"),
        ({"type": "length"}, "give `min`, `max` or both"),
        ({"type": "exact", "valeu": 1}, "`valeu` is not a field of this evaluator"),
        ({"type": "json_schema", "schema": {"type": 5}}, "the JSON Schema does not compile"),
        ({"name": "x"}, "an evaluator needs `type:`"),
        ({"type": "llm_judge", "prompt": "judges/none"}, "no prompt named 'judges/none'"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecErrors, match=re.escape(message)):
        build([spec], BuildContext())


def test_two_evaluators_with_one_name_are_refused() -> None:
    with pytest.raises(SpecErrors, match="two evaluators are named 'exact'"):
        build([{"type": "exact"}, {"type": "exact"}], BuildContext())


@pytest.mark.parametrize(
    ("answer", "value", "comment"),
    [
        ('{"score": 4, "reason": "ok"}', 4.0, "ok"),
        ('Sure!\n```json\n{"score": true, "reason": "yes"}\n```', True, "yes"),
        ('Here you go: {"score": "good", "comment": "fine"} thanks', "good", "fine"),
        ("Score: 0.5\nReason: half right", 0.5, "half right"),
    ],
)
def test_judge_answers_are_parsed(answer: str, value: Any, comment: str) -> None:
    parsed = parse_judgement(answer)
    assert parsed.value == value
    assert parsed.comment == comment


def test_a_malformed_judge_answer_is_an_evaluator_error() -> None:
    with pytest.raises(EvaluatorError, match="not a score"):
        parse_judgement("I would say it is rather good.")


def test_run_experiment_with_local_data_functions_and_run_evaluators() -> None:
    calls: list[str] = []

    async def task(input: dict[str, str]) -> str:
        calls.append(input["country"])
        await asyncio.sleep(0.01)
        if input["country"] == "Atlantis":
            raise LookupError("no such country")
        return {"France": "Paris", "Japan": "Kyoto"}[input["country"]]

    def right(output: str, expected: str) -> tuple[bool, str]:
        return output == expected, f"wanted {expected}"

    def worst(results: list[Any]) -> float:
        return min(len(r.output or "") for r in results if r.error is None)

    result = run_experiment(
        "capitals-app",
        data=[
            {"id": "fr", "input": {"country": "France"}, "expected": "Paris"},
            {"id": "jp", "input": {"country": "Japan"}, "expected": "Tokyo"},
            {"id": "at", "input": {"country": "Atlantis"}, "expected": "?"},
        ],
        task=task,
        evaluators=[right, {"type": "length", "max": 5, "name": "short"}],
        run_evaluators=[{"type": "pass_rate", "of": "right"}, worst],
        max_concurrency=2,
        gate={"right": {"min": 0.9}},
    )
    assert sorted(calls) == ["Atlantis", "France", "Japan"]
    by_id = {item.id: item for item in result.items}
    assert by_id["fr"].scores == {"right": True, "short": True}
    assert by_id["jp"].scores["right"] is False
    assert by_id["jp"].comments["right"] == "wanted Tokyo"
    assert by_id["at"].error == "LookupError: no such country"
    assert result.aggregates == {"right": 0.5, "short": 1.0}
    assert result.run_aggregates == {"pass_rate:right": 0.5, "worst": 5.0}
    assert result.gate.passed is False
    assert result.prompt.name == "capitals-app"
    assert result.dataset.name == "local"


def test_run_experiment_refuses_duplicate_ids() -> None:
    with pytest.raises(UsageError, match="unique"):
        run_experiment("x", [{"id": "a"}, {"id": "a"}], task=lambda input: input)
