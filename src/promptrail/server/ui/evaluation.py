"""Evaluation pages: datasets and their versions, runs, and two runs side by side.

- `/datasets`: every dataset; `/datasets/{name}`: its versions, one version's items, and
  the runs over it with their aggregates over time.
- `/runs?prompt=&version=&dataset=`: runs, newest first (a prompt version's runs).
- `/runs/{run_id}`: one run, item by item.
- `/runs/compare?base=&head=`: two runs item by item, changed verdicts first, with the
  outputs' word diff, score deltas and the paired statistics `eval --base` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from promptrail.api.eval import RunSummary
from promptrail.eval.paired import compare_runs as paired_comparison
from promptrail.eval.worddiff import Piece, word_diff
from promptrail.server.ui.auth import Viewing
from promptrail.server.ui.common import read, render
from promptrail.store import runs as runs_q

router = APIRouter(include_in_schema=False)
RUN_LIMIT = 200


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 else None


def aggregate_names(runs: list[RunSummary]) -> list[str]:
    """The evaluators any of the runs has an aggregate for, in first-seen order."""
    return list(dict.fromkeys(name for run in runs for name in run.aggregates))


@router.get("/datasets")
async def dataset_list(request: Request, viewer: Viewing) -> Response:
    found = await read(request, runs_q.list_datasets)
    return render(request, "datasets.html", datasets=found.datasets)


@router.get("/datasets/{name:path}")
async def dataset_page(request: Request, name: str, viewer: Viewing) -> Response:
    wanted = _int(request.query_params.get("version"))
    history = await read(request, lambda conn: runs_q.dataset_history(conn, name))
    shown = await read(request, lambda conn: runs_q.get_dataset(conn, name, version=wanted))
    runs = await read(request, lambda conn: runs_q.list_runs(conn, dataset=name, limit=RUN_LIMIT))
    over_time = list(reversed(runs.runs))  # oldest first, as a timeline reads
    return render(
        request,
        "dataset.html",
        name=name,
        history=history.versions,
        shown=shown,
        runs=over_time,
        names=aggregate_names(over_time),
    )


@router.get("/runs")
async def run_list(request: Request, viewer: Viewing) -> Response:
    params = request.query_params
    prompt = params.get("prompt") or None
    version = _int(params.get("version"))
    dataset = params.get("dataset") or None
    found = await read(
        request,
        lambda conn: runs_q.list_runs(
            conn, prompt=prompt, version=version, dataset=dataset, limit=RUN_LIMIT
        ),
    )
    return render(
        request,
        "runs.html",
        runs=found.runs,
        names=aggregate_names(found.runs),
        prompt=prompt,
        prompt_version=version,  # `version` is promptrail's, in every template
        dataset=dataset,
    )


@dataclass
class ItemRow:
    id: str
    sample: int
    changed: bool
    verdict_changed: bool
    input: Any
    expected: Any
    base_output: Any
    head_output: Any
    base_error: str | None
    head_error: str | None
    scores: dict[str, Any]  # name -> ScoreDelta
    words: list[Piece]


@router.get("/runs/compare")
async def run_compare(request: Request, viewer: Viewing) -> Response:
    base_id = request.query_params.get("base", "")
    head_id = request.query_params.get("head", "")
    comparison = await read(request, lambda conn: runs_q.compare_runs(conn, base_id, head_id))
    base = await read(request, lambda conn: runs_q.get_run(conn, base_id))
    head = await read(request, lambda conn: runs_q.get_run(conn, head_id))
    rows = []
    for item in comparison.items:
        b, h = item.base, item.head
        either = h or b
        rows.append(
            ItemRow(
                id=item.id,
                sample=item.sample,
                changed=item.changed,
                verdict_changed=item.verdict_changed,
                input=either.input if either else None,
                expected=either.expected if either else None,
                base_output=b.output if b else None,
                head_output=h.output if h else None,
                base_error=b.error if b else None,
                head_error=h.error if h else None,
                scores=item.scores,
                words=word_diff(b.output if b else None, h.output if h else None),
            )
        )
    stats = paired_comparison(base, head)
    return render(
        request,
        "run_compare.html",
        comparison=comparison,
        rows=rows,
        stats=stats,
        changed=sum(1 for r in rows if r.changed),
    )


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, viewer: Viewing) -> Response:
    run = await read(request, lambda conn: runs_q.get_run(conn, run_id))
    names = list(run.aggregates)
    return render(request, "run.html", run=run, names=names)
