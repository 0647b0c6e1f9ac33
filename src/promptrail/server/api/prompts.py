"""Reading prompts: one by label or version (the hot path), the list, versions, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from promptrail.api.registry import (
    MAX_VERSION,
    LabelHistory,
    PromptList,
    PublishedVersion,
    VersionList,
)
from promptrail.constants import PRODUCTION
from promptrail.errors import ApiProblem, NotFound
from promptrail.repo.spec import LABEL_PATTERN, LABEL_RE, NAME_PATTERN, is_valid_name
from promptrail.server.auth import Principal, require_scope
from promptrail.server.cache import Entry, make_entry, send_entry
from promptrail.server.errors import ERROR_RESPONSES, error_body
from promptrail.server.state import registry_of
from promptrail.store import Store
from promptrail.store import registry as queries

router = APIRouter(prefix="/api/v1", tags=["prompts"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
NamePath = Annotated[
    str,
    Path(
        description="Prompt name; folders are path segments (support/triage).",
        examples=["support/triage"],
        # Documented; check_name refuses others with a message that explains the rule.
        json_schema_extra={"pattern": NAME_PATTERN, "maxLength": 200},
    ),
]
GET_PARAMS = {"label", "version"}


def check_name(name: str) -> str:
    if not is_valid_name(name):
        raise ApiProblem(
            400,
            "invalid",
            f"invalid prompt name {name!r}: names are lowercase letters, digits, '-', '_' and "
            "'.', with '/' between folders (no '..', no spaces or control characters)",
        )
    return name


def check_label(label: str) -> str:
    if not LABEL_RE.match(label):
        raise ApiProblem(
            400,
            "invalid",
            f"invalid label {label!r}: lowercase letters, digits, '-', '_' and '.', "
            "at most 63 characters",
        )
    return label


class EntryResponse(Response):
    """Sends a cached Entry as is (a 304 when If-None-Match matches its ETag)."""

    def __init__(self, entry: Entry, if_none_match: bytes | None):
        super().__init__(status_code=entry.status)
        self.raw_headers = list(entry.headers)
        self.entry, self.if_none_match = entry, if_none_match

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_entry(self.entry, self.if_none_match, send)


def _load(store: Store, name: str, label: str | None, version: int | None) -> tuple[int, Entry]:
    with store.read() as conn:
        revision = queries.revision(conn)
        try:
            body = queries.get(conn, name, label=label, version=version)
        except NotFound as exc:
            return revision, make_entry(404, error_body("not_found", str(exc)))
    return revision, make_entry(
        200, PublishedVersion.model_validate(body).model_dump_json(exclude_none=True).encode()
    )


@router.get(
    "/prompts",
    response_model=PromptList,
    responses=ERROR_RESPONSES,
    summary="List prompts with their labels, latest version and last change",
)
async def list_prompts(request: Request, _: Reader) -> PromptList:
    return await run_in_threadpool(registry_of(request).store.list_prompts)


@router.get(
    "/prompts/{name:path}",
    response_model=PublishedVersion,
    response_model_exclude_none=True,
    responses={**ERROR_RESPONSES, 304: {"description": "Not modified (If-None-Match)"}},
    summary="Get a prompt by label (default production) or by version",
)
async def get_prompt(
    request: Request,
    name: NamePath,
    _: Reader,
    label: Annotated[
        str | None,
        Query(
            description=f"A label; `{PRODUCTION}` when neither is given.",
            json_schema_extra={"pattern": LABEL_PATTERN},
        ),
    ] = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="A version.")] = None,
) -> Response:
    unknown = set(request.query_params) - GET_PARAMS
    if unknown:
        raise ApiProblem(
            400, "invalid", f"unknown query parameter {sorted(unknown)[0]!r}: use label or version"
        )
    check_name(name)
    if label is not None and version is not None:
        raise ApiProblem(400, "invalid", "ask for a label or a version, not both")
    if label is not None:
        check_label(label)
    registry = registry_of(request)
    key = (request.scope["path"], request.scope["query_string"])
    entry = registry.cache.entries.get(key)
    if entry is None:
        revision, loaded = await run_in_threadpool(_load, registry.store, name, label, version)
        registry.cache.put(key, loaded, revision)
        entry = loaded
    return EntryResponse(entry, request.headers.get("if-none-match", "").encode() or None)


@router.get(
    "/versions/{name:path}",
    response_model=VersionList,
    responses=ERROR_RESPONSES,
    summary="The versions of a prompt, newest first, with where each came from",
)
async def versions(request: Request, name: NamePath, _: Reader) -> VersionList:
    check_name(name)
    return await run_in_threadpool(registry_of(request).store.versions, name)


@router.get(
    "/history/{name:path}",
    response_model=LabelHistory,
    responses=ERROR_RESPONSES,
    summary="Every label move of a prompt, newest first",
)
async def label_history(
    request: Request,
    name: NamePath,
    _: Reader,
    label: Annotated[
        str | None,
        Query(description="Only this label's moves.", json_schema_extra={"pattern": LABEL_PATTERN}),
    ] = None,
) -> LabelHistory:
    check_name(name)
    if label is not None:
        check_label(label)
    return await run_in_threadpool(registry_of(request).store.label_history, name, label)
