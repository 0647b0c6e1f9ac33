"""Evaluation: datasets in git, evaluators, the experiment runner and its response cache.

The room reads as the data flow of a run:

- `datasets`   read `datasets/<name>.yaml` / `.jsonl` (through repo/yamlfile.py), hash them
- `checks`     the `evals:` block of a prompt file: which datasets, evaluators and gate
- `evaluators/` one module per kind of evaluator; `evaluators/__init__` builds them from specs
- `aggregate`  run-level evaluators (mean, pass rate, a function's aggregate) and the gate
- `cache`      the disk response cache, keyed by everything that determines an answer
- `llm`        calls an OpenAI-compatible endpoint through the `openai` package
- `runner`     runs a prompt or a task over items, concurrently, traced, and scores them
- `experiment` the Python API: `run_experiment(name, data, task, evaluators, ...)`
- `table`      the terminal table of a run

The wire shapes (a run's result, datasets on the wire) live in `promptrail.api.eval`.
Nothing here imports `server/` or `store/`; the CLI records runs through `api/client.py`.
"""
