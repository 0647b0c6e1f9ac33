"""Evaluation: datasets in git, evaluators, the experiment runner and its response cache.

The room reads as the data flow of a run:

- `checks`     `promptrail validate`'s rules for datasets and the prompts' `evals:` blocks
- `setup`      from a repository and the command's options to a checked RunPlan
- `prompts`    a prompt version rendered as the messages an endpoint takes
- `functions`  the user's `module:function` (tasks, custom evaluators), sync or async
- `evaluators/` one module per kind of evaluator; `evaluators/__init__` builds them from specs
- `aggregate`  run-level evaluators (mean, pass rate, a function's aggregate) and the gate
- `cache`      the disk response cache, keyed by everything that determines an answer
- `llm`        calls an OpenAI-compatible endpoint through the `openai` package
- `runner`     runs a prompt or a task over items, concurrently, traced, and scores them
- `experiment` the Python API: `run_experiment(name, data, task, evaluators, ...)`
- `progress`   a bar on a terminal, plain lines in CI
- `table`      the terminal table of a run

Datasets are files in git, so they are read in `repo/datasets.py` (the spec is in
`repo/spec.py`); the registry's side is `store/runs.py` and `server/api/eval.py`.

The wire shapes (a run's result, datasets on the wire) live in `promptrail.api.eval`.
Nothing here imports `server/`, nor `store/` but its price table (for costs); the CLI
records runs through `api/client.py`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["arun_experiment", "run_experiment"]


def __getattr__(name: str) -> Any:
    # Lazy: `import promptrail.eval` must not load the runner (and openai) for validate.
    if name in __all__:
        from promptrail.eval import experiment

        return getattr(experiment, name)
    raise AttributeError(f"module 'promptrail.eval' has no attribute {name!r}")
