"""The `evals:` blocks of a repository checked against its datasets, prompts and code.

Rules, by `Problem.code`: from the loader `dataset-syntax`, `dataset-schema`,
`dataset-name`, `dataset-name-clash`, `dataset-duplicate-id`; per `evals:` entry
`eval-dataset` (names no dataset), `eval-evaluator` (unknown type, a wrong field, a
`module:function` that does not import, a JSON Schema that does not compile, a judge
prompt that does not exist), `eval-gate` (a rule naming no evaluator), `eval-task`, and
`dataset-missing-variable` (an item lacks a variable or placeholder the prompt needs).
"""

from __future__ import annotations

from promptrail.errors import Problem
from promptrail.eval.aggregate import build_run_evaluators, gate_problems
from promptrail.eval.evaluators import BuildContext, SpecErrors, build
from promptrail.eval.functions import load_function
from promptrail.repo.datasets import DatasetSet, LoadedDataset, load_datasets
from promptrail.repo.promptfile import LoadedPrompt
from promptrail.repo.repository import PromptRepo
from promptrail.repo.spec import EvalBlock
from promptrail.template import chat_variables, variables_of


def check_evals(
    repo: PromptRepo, prompts: dict[str, LoadedPrompt], ref: str | None = None
) -> list[Problem]:
    """Every problem of the datasets and of the prompts' `evals:` blocks at `ref`."""
    datasets = load_datasets(repo, ref)
    problems = list(datasets.problems)
    context = BuildContext(root=repo.root, prompts=prompts)
    for prompt in prompts.values():
        for index, block in enumerate(prompt.spec.evals):
            problems += check_block(prompt, index, block, datasets, context)
    return problems


def check_block(
    prompt: LoadedPrompt,
    index: int,
    block: EvalBlock,
    datasets: DatasetSet,
    context: BuildContext,
) -> list[Problem]:
    def problem(code: str, message: str, *path: str | int) -> Problem:
        line = prompt.line("evals", index, *path)
        return Problem(message, prompt.path, line, code, prompt.name)

    problems: list[Problem] = []
    dataset = datasets.datasets.get(block.dataset)
    if dataset is None and not _failed_to_load(datasets, block.dataset):
        known = ", ".join(sorted(datasets.datasets)) or "none"
        problems.append(
            problem(
                "eval-dataset",
                f"no dataset named {block.dataset!r} (add datasets/{block.dataset}.yaml; "
                f"datasets found: {known})",
                "dataset",
            )
        )
    names: list[str] = []
    for key, builder in (("evaluators", _item_evaluators), ("run_evaluators", None)):
        try:
            if builder is not None:
                names = builder(block, context)
            else:
                run_names = build_run_evaluators(block.run_evaluators, names, context.root)
                names = names + [evaluator.name for evaluator in run_names]
        except SpecErrors as exc:
            for error in exc.errors:
                path = (key, error.index) + ((error.field,) if error.field else ())
                problems.append(problem("eval-evaluator", error.message, *path))
            if builder is not None:
                names = _declared_names(block)
    for message in gate_problems(block.gate, names):
        problems.append(problem("eval-gate", message, "gate"))
    if block.task:
        try:
            load_function(block.task, context.root)
        except ValueError as exc:
            problems.append(problem("eval-task", f"task: {exc}", "task"))
    elif dataset is not None:
        problems += missing_variables(prompt, dataset)
    return problems


def _item_evaluators(block: EvalBlock, context: BuildContext) -> list[str]:
    return [evaluator.name for evaluator in build(block.evaluators, context)]


def _declared_names(block: EvalBlock) -> list[str]:
    """Names as written, so that one broken evaluator does not also flag the gate."""
    return [
        str(raw.get("name") or raw.get("type")) for raw in block.evaluators if isinstance(raw, dict)
    ]


def _failed_to_load(datasets: DatasetSet, name: str) -> bool:
    return any(problem.name == name for problem in datasets.problems)


def needed_variables(prompt: LoadedPrompt) -> list[str]:
    """The variables and placeholders an item's `input` must give the prompt."""
    spec = prompt.spec
    try:
        if spec.type == "chat":
            variables, placeholders = chat_variables(spec.messages_as_dicts() or [])
            return variables + placeholders
        return list(variables_of(spec.prompt or ""))
    except Exception:
        return []  # a template that does not parse is reported by the template rule


def missing_variables(prompt: LoadedPrompt, dataset: LoadedDataset) -> list[Problem]:
    needed = needed_variables(prompt)
    problems = []
    for index, item in enumerate(dataset.items):
        given = item.input if isinstance(item.input, dict) else {}
        lacking = [name for name in needed if name not in given]
        if lacking:
            plural = "s" if len(lacking) > 1 else ""
            problems.append(
                Problem(
                    f"item {item.id!r} lacks variable{plural} "
                    f"{', '.join(repr(n) for n in lacking)} that prompt {prompt.name!r} needs "
                    f"(add them under `input:`)",
                    dataset.path,
                    dataset.line_of(index),
                    "dataset-missing-variable",
                    dataset.name,
                )
            )
    return problems
