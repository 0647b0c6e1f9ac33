"""Bad datasets and checks: `validate` names the file and line, `eval` refuses before it
calls anything, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import GitRepo, run_cli
from promptrail.testing.fake_openai import FakeOpenAI

from .conftest import CAPITALS_PROMPT


def refused(repo: GitRepo, fake: FakeOpenAI, cache: Path) -> tuple[str, str]:
    """validate's complaint and eval's, after checking eval called and cached nothing."""
    checked = run_cli("validate", cwd=repo.path)
    assert checked.exit_code == 1
    ran = run_cli("eval", "capitals", cwd=repo.path)
    assert ran.exit_code in (1, 2), ran.stderr
    assert fake.requests == []
    assert not cache.exists()
    return checked.stdout + checked.stderr, ran.stderr


@pytest.fixture
def cache(openai_env: FakeOpenAI, tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite"


def test_duplicate_ids(eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path) -> None:
    eval_repo.write(
        "datasets/capitals.yaml",
        """
        items:
          - {id: fr, input: {country: France}}
          - {id: jp, input: {country: Japan}}
          - {id: fr, input: {country: Peru}}
        """,
    )
    validate, ran = refused(eval_repo, openai_env, cache)
    assert (
        "datasets/capitals.yaml:4: error[dataset-duplicate-id]: item id 'fr' is used twice"
        in validate
    )
    assert "datasets/capitals.yaml:4" in ran


def test_an_item_missing_a_variable(
    eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path
) -> None:
    eval_repo.write(
        "datasets/capitals.yaml",
        """
        items:
          - id: fr
            input: {country: France}
          - id: xx
            input: {contry: Atlantis}
        """,
    )
    validate, ran = refused(eval_repo, openai_env, cache)
    assert (
        "datasets/capitals.yaml:4: error[dataset-missing-variable]: item 'xx' lacks variable "
        "'country' that prompt 'capitals' needs" in validate
    )
    assert "datasets/capitals.yaml:4: item 'xx': missing variable 'country'" in ran


def test_a_dataset_schema_error_names_the_line(
    eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path
) -> None:
    eval_repo.write(
        "datasets/capitals.yaml",
        """
        items:
          - id: fr
            input: {country: France}
            expectd: Paris
        """,
    )
    validate, ran = refused(eval_repo, openai_env, cache)
    assert (
        "datasets/capitals.yaml:4: error[dataset-schema]: `items.0.expectd` is not a known key"
        in validate
    )
    assert "expectd" in ran


def test_a_jsonl_dataset_line_that_is_not_json(
    eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path
) -> None:
    eval_repo.remove("datasets/capitals.yaml")
    eval_repo.write(
        "datasets/capitals.jsonl",
        '{"id": "fr", "input": {"country": "France"}}\n{"id": "jp", "input": \n',
    )
    validate, _ = refused(eval_repo, openai_env, cache)
    assert "datasets/capitals.jsonl:2: error[dataset-syntax]: line is not JSON" in validate


def with_evaluator(repo: GitRepo, evaluator: str) -> None:
    repo.write_prompt(
        "capitals",
        CAPITALS_PROMPT.replace(
            '      - {type: contains, value: "capital of", name: echoes}\n', evaluator
        ),
    )


def test_an_unknown_evaluator_type(eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path) -> None:
    with_evaluator(eval_repo, "      - {type: exactt, name: echoes}\n")
    validate, ran = refused(eval_repo, openai_env, cache)
    assert (
        "prompts/capitals.yaml:14: error[eval-evaluator]: unknown evaluator type 'exactt'; "
        "did you mean `exact`?" in validate
    )
    assert "unknown evaluator type 'exactt'" in ran


def test_a_function_that_does_not_import(
    eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path
) -> None:
    with_evaluator(eval_repo, '      - {type: python, function: "evals.nothere:f", name: f}\n')
    validate, ran = refused(eval_repo, openai_env, cache)
    assert (
        "prompts/capitals.yaml:14: error[eval-evaluator]: python: cannot import 'evals.nothere'"
        in validate
    )
    assert "cannot import 'evals.nothere'" in ran
    with_evaluator(eval_repo, '      - {type: python, function: "evals.checks:missing"}\n')
    validate, _ = refused(eval_repo, openai_env, cache)
    assert "module 'evals.checks' has no 'missing'" in validate


def test_a_json_schema_that_does_not_compile(
    eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path
) -> None:
    with_evaluator(eval_repo, "      - {type: json_schema, name: shape, schema: {type: objekt}}\n")
    validate, ran = refused(eval_repo, openai_env, cache)
    assert (
        "prompts/capitals.yaml:14: error[eval-evaluator]: "
        "`schema`: the JSON Schema does not compile" in validate
    )
    assert "objekt" in validate
    assert "does not compile" in ran


def test_a_gate_naming_no_evaluator_and_a_missing_dataset(
    eval_repo: GitRepo, openai_env: FakeOpenAI, cache: Path
) -> None:
    eval_repo.write_prompt(
        "capitals",
        CAPITALS_PROMPT.replace("gate: {mentions:", "gate: {mention:").replace(
            "dataset: capitals", "dataset: capitols"
        ),
    )
    checked = run_cli("validate", cwd=eval_repo.path)
    assert checked.exit_code == 1
    out = checked.stdout + checked.stderr
    assert "prompts/capitals.yaml:12: error[eval-dataset]: no dataset named 'capitols'" in out
    assert "the gate names 'mention', which is no evaluator" in out


def test_evals_is_not_content_no_version_bump_needed(eval_repo: GitRepo) -> None:
    before = run_cli("render", "capitals", "--var", "country=France", cwd=eval_repo.path)
    eval_repo.write_prompt("capitals", CAPITALS_PROMPT.replace("min: 0.9", "min: 0.5"))
    checked = run_cli("validate", "--base", "HEAD", cwd=eval_repo.path)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    after = run_cli("render", "capitals", "--var", "country=France", cwd=eval_repo.path)
    assert before.stdout == after.stdout


def test_diff_shows_dataset_items_and_evals_changes(eval_repo: GitRepo) -> None:
    dataset = eval_repo.path / "datasets/capitals.yaml"
    text = dataset.read_text().replace("expected: Lima", "expected: Lima, Peru")
    dataset.write_text(text + "  - id: it\n    input: {country: Italy}\n")
    eval_repo.write_prompt("capitals", CAPITALS_PROMPT.replace("min: 0.9", "min: 0.5"))
    shown = run_cli("diff", "HEAD", cwd=eval_repo.path)
    assert shown.exit_code == 0, shown.stderr
    assert "~ dataset capitals  4 items; +1 (it) ~1 (pe)" in shown.stdout
    assert "evals (checks, not content)" in shown.stdout
    assert '+        "min": 0.5' in shown.stdout
    assert "1 dataset changed" in shown.stdout
