"""`GET /api/v1/metrics/compare`: two versions of a prompt serving traffic, on quality
(the scores on their generations, with a 95% interval of the difference), cost and
latency. Reads need the `read` scope. The work is `Store.compare_versions`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from promptrail.api.quality import DEFAULT_SINCE, SAMPLE_LIMIT, VersionComparison, parse_time
from promptrail.api.registry import MAX_VERSION
from promptrail.errors import ApiProblem, InvalidRequest
from promptrail.server.auth import Principal, require_scope
from promptrail.server.errors import ERROR_RESPONSES
from promptrail.server.state import registry_of

router = APIRouter(prefix="/api/v1", tags=["tracing"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Version = Annotated[int | None, Query(ge=1, le=MAX_VERSION)]


def _time(name: str, text: str | None, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        return parse_time(text, now)
    except ValueError as exc:
        raise ApiProblem(422, "invalid", f"{name}: {exc}") from None


@router.get(
    "/metrics/compare",
    response_model=VersionComparison,
    responses=ERROR_RESPONSES,
    summary="Two versions of a prompt on live traffic: scores with a 95% interval, cost, latency",
    description=(
        "Per score name, each version's mean over its scored generations (the newest "
        "`sample_limit`), the difference head - base with a 95% interval (unpaired "
        "bootstrap) and a verdict. `base` defaults to the version on `production`, `head` "
        "to the newest other version with traffic in the range. `since` and `until` take "
        f"`7d`, `24h`, `30m` back from now or an ISO 8601 time; `since` defaults to "
        f"{DEFAULT_SINCE}, `until` to now. 404: no such prompt or version; 422: a default "
        "cannot be chosen (the message says what to give)."
    ),
)
async def compare_versions(
    request: Request,
    _: Reader,
    prompt: Annotated[str, Query(min_length=1, max_length=200)],
    base: Version = None,
    head: Version = None,
    since: Annotated[str, Query(max_length=64)] = DEFAULT_SINCE,
    until: Annotated[str | None, Query(max_length=64)] = None,
    sample_limit: Annotated[int, Query(ge=1, le=SAMPLE_LIMIT)] = SAMPLE_LIMIT,
) -> VersionComparison:
    now = datetime.now(UTC)
    end = _time("until", until, now)
    start = _time("since", since, end if until is not None else now)
    if start >= end:
        raise ApiProblem(422, "invalid", f"since ({since}) must be before until ({until})")
    store = registry_of(request).store

    def run() -> VersionComparison:
        return store.compare_versions(
            prompt, start=start, end=end, base=base, head=head, limit=sample_limit
        )

    try:
        return await run_in_threadpool(run)
    except InvalidRequest as exc:
        raise ApiProblem(422, "invalid", str(exc)) from None
