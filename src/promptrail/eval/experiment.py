"""The Python API: evaluate your own function over items, from code.

    from promptrail.eval import run_experiment

    result = run_experiment(
        "rag-v2",
        data=[{"id": "fr", "input": {"country": "France"}, "expected": "Paris"}],
        task=my_app.answer,                       # sync or async, gets `input` (and `item`...)
        evaluators=[{"type": "exact"}, polite],   # specs as in git, or functions
        run_evaluators=[{"type": "pass_rate", "of": "exact"}],
        max_concurrency=8,
    )
    result.aggregates["exact"]

`data` is a list of items (mappings or DatasetItem), a dataset loaded from git, or the
name of a dataset in the registry (`registry=` or PROMPTRAIL_URL). With `record=True` the
run is stored in the registry like one `promptrail eval` made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from promptrail.api.eval import DatasetRef, RunPrompt, RunResult
from promptrail.errors import UsageError
from promptrail.eval.aggregate import RunEvaluator, RunSpec, build_run_evaluators
from promptrail.eval.evaluators import BuildContext, Evaluator, SpecErrors, build_one
from promptrail.eval.evaluators.custom import Python, PythonSpec
from promptrail.eval.functions import UserFunction
from promptrail.eval.runner import DEFAULT_CONCURRENCY, RunPlan, Target, execute
from promptrail.repo.datasets import LoadedDataset, dataset_hash
from promptrail.repo.spec import DatasetItem, GateRule


class FunctionEvaluator(Python):
    """A function given from code: `fn(input, output, expected, metadata) -> score`."""

    def __init__(self, function: Callable[..., Any], name: str | None = None):
        self.function = UserFunction.wrap(function)
        self.name = str(name or getattr(function, "__name__", "custom"))
        self.spec = PythonSpec(type="python", name=self.name, function=self.function.reference)


def run_experiment(
    name: str,
    data: Any,
    task: Callable[..., Any],
    evaluators: Iterable[Mapping[str, Any] | Callable[..., Any] | Evaluator] = (),
    run_evaluators: Iterable[Mapping[str, Any] | Callable[..., Any]] = (),
    max_concurrency: int = DEFAULT_CONCURRENCY,
    *,
    samples: int = 1,
    gate: Mapping[str, Mapping[str, float]] | None = None,
    root: str | Path | None = None,
    registry: Any = None,
    record: bool = False,
    show_progress: bool = False,
) -> RunResult:
    """Run `task` over `data`, score it, and return the run (see the module docstring)."""
    return asyncio.run(
        arun_experiment(
            name,
            data,
            task,
            evaluators,
            run_evaluators,
            max_concurrency,
            samples=samples,
            gate=gate,
            root=root,
            registry=registry,
            record=record,
            show_progress=show_progress,
        )
    )


async def arun_experiment(
    name: str,
    data: Any,
    task: Callable[..., Any],
    evaluators: Iterable[Mapping[str, Any] | Callable[..., Any] | Evaluator] = (),
    run_evaluators: Iterable[Mapping[str, Any] | Callable[..., Any]] = (),
    max_concurrency: int = DEFAULT_CONCURRENCY,
    *,
    samples: int = 1,
    gate: Mapping[str, Mapping[str, float]] | None = None,
    root: str | Path | None = None,
    registry: Any = None,
    record: bool = False,
    show_progress: bool = False,
) -> RunResult:
    """`run_experiment` for code already inside an event loop."""
    root_path = Path(root) if root is not None else None
    client = _client(registry) if (record or isinstance(data, str)) else None
    try:
        dataset, items = _items(data, client)
        built = _evaluators(evaluators, root_path)
        names = [evaluator.name for evaluator in built]
        plan = RunPlan(
            target=Target(RunPrompt(name=name, source="task"), task=UserFunction.wrap(task)),
            dataset=dataset,
            items=items,
            evaluators=built,
            run_evaluators=_run_evaluators(run_evaluators, names, root_path),
            gate={key: GateRule.model_validate(rule) for key, rule in (gate or {}).items()},
            concurrency=max_concurrency,
            samples=samples,
            name=name,
            show_progress=show_progress,
        )
        result = await execute(plan)
        if record and client is not None:
            await asyncio.to_thread(client.create_run, result)
        return result
    finally:
        if client is not None and client is not registry:
            client.close()


def _client(registry: Any) -> Any:
    if registry is not None and not isinstance(registry, str):
        return registry
    from promptrail.api.client import RegistryClient

    return RegistryClient(registry)


def _items(data: Any, client: Any) -> tuple[DatasetRef, list[DatasetItem]]:
    if isinstance(data, str):
        stored = client.get_dataset(data)
        ref = DatasetRef(name=stored.name, hash=stored.hash, version=stored.version)
        return ref, list(stored.items)
    if isinstance(data, LoadedDataset):
        return DatasetRef(name=data.name, hash=data.hash, path=data.path), list(data.items)
    items = []
    for index, raw in enumerate(data):
        if isinstance(raw, DatasetItem):
            items.append(raw)
            continue
        if not isinstance(raw, Mapping):
            raise UsageError(f"data[{index}] is a {type(raw).__name__}: give {{id, input, ...}}")
        items.append(DatasetItem.model_validate({"id": str(index), **raw}))
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise UsageError("item ids must be unique: runs are compared by them")
    return DatasetRef(name="local", hash=dataset_hash(items)), items


def _evaluators(specs: Iterable[Any], root: Path | None) -> list[Evaluator]:
    built: list[Evaluator] = []
    for index, spec in enumerate(specs):
        if isinstance(spec, Evaluator):
            built.append(spec)
        elif callable(spec):
            built.append(FunctionEvaluator(spec))
        else:
            try:
                built.append(build_one(dict(spec), BuildContext(root=root)))
            except SpecErrors as exc:
                raise UsageError(f"evaluators[{index}]: {exc}") from None
    return built


def _run_evaluators(
    specs: Iterable[Any], names: list[str], root: Path | None
) -> list[RunEvaluator]:
    built: list[RunEvaluator] = []
    as_specs: list[dict[str, Any]] = []
    for spec in specs:
        if callable(spec):
            function = UserFunction.wrap(spec)
            name = getattr(spec, "__name__", "aggregate")
            built.append(RunEvaluator(RunSpec(type="python", name=name), name, function))
        else:
            as_specs.append(dict(spec))
    try:
        built += build_run_evaluators(as_specs, names, root)
    except SpecErrors as exc:
        raise UsageError(f"run_evaluators: {exc}") from None
    return built
