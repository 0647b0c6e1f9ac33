"""Prompts v2 in Langfuse's shape: get by label or version, list, and (refused) writes.

GET /api/public/v2/prompts/{name} is served like promptrail's own GET: the first answer
is serialized once into the process's `ResponseCache`, keyed by path and query, and
`RegistryApp` answers every later request from those bytes (ETag, 304, no-cache) before
routing. A missing label is a 404, never a fallback to another version: the SDK then
uses its own fallback, as it does against Langfuse.

Writes (create a version, add labels) are refused by default with a message saying how
to make the change in git. With `PROMPTRAIL_LANGFUSE_WRITES=on` they are applied as a
publish whose source says it came from this API, so `promptrail plan --check` reports
the version or label move as drift; protected labels still need the `deploy` scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptrail.api.inputs import as_utc
from promptrail.api.langfuse import LabelsUpdate, PromptCreate, from_lf_messages, prompt_body
from promptrail.api.registry import (
    MAX_VERSION,
    LabelMove,
    PublishRequest,
    PublishSource,
    VersionUpload,
)
from promptrail.constants import LATEST, PRODUCTION
from promptrail.content import content_hash, content_of
from promptrail.errors import ApiProblem
from promptrail.repo.spec import LABEL_RE, is_valid_name
from promptrail.server.api.langfuse.common import (
    PREFIX,
    TAGS,
    Limit,
    Page,
    Reader,
    json_response,
    page_meta,
)
from promptrail.server.api.prompts import EntryResponse
from promptrail.server.api.publish import _publish
from promptrail.server.auth import Principal, require_scope
from promptrail.server.cache import Entry, make_entry
from promptrail.server.errors import error_body
from promptrail.server.state import Registry, registry_of
from promptrail.store import NotFound, Store
from promptrail.store import langfuse as lf_queries
from promptrail.store import registry as queries

router = APIRouter(prefix=PREFIX + "/v2", tags=TAGS)
Publisher = Annotated[Principal, Depends(require_scope("publish"))]
SOURCE_REF = "langfuse-api"  # PublishSource.ref of versions created through this API


def _missing(message: str) -> tuple[int, Entry]:
    return -1, make_entry(404, error_body("not_found", message))


def _load(store: Store, name: str, label: str | None, version: int | None) -> tuple[int, Entry]:
    if not is_valid_name(name):
        # Such a name can never be published; a 404 lets the SDK use its fallback.
        return _missing(
            f"no prompt named {name!r}: promptrail names are lowercase letters, digits, "
            "'-', '_' and '.', with '/' between folders"
        )
    if label is not None and not LABEL_RE.match(label):
        return _missing(f"prompt {name!r} has no label {label!r} (not a valid label name)")
    with store.read() as conn:
        revision = queries.revision(conn)
        try:
            body = queries.get(conn, name, label=label, version=version)
        except NotFound as exc:
            return revision, make_entry(404, error_body("not_found", str(exc)))
        message, created_at = lf_queries.version_meta(conn, name, body["version"])
    data = json_response(prompt_body(body, message, created_at)).body
    return revision, make_entry(200, bytes(data))


@router.get("/prompts/{name:path}", summary="Get a prompt (Langfuse shape) by label or version")
async def get_prompt(
    request: Request,
    name: str,
    _: Reader,
    label: Annotated[str | None, Query(description=f"Default `{PRODUCTION}`.")] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    resolve: bool | None = None,  # prompt composition: promptrail has none to resolve
) -> Response:
    if label is not None and version is not None:
        raise ApiProblem(400, "invalid", "ask for a label or a version, not both")
    registry = registry_of(request)
    key = (request.scope["path"], request.scope["query_string"])
    cached = registry.cache.entries.get(key)
    if cached is None:
        revision, entry = await run_in_threadpool(_load, registry.store, name, label, version)
        if revision >= 0:
            registry.cache.put(key, entry, revision)
    else:
        entry = cached
    return EntryResponse(entry, request.headers.get("if-none-match", "").encode() or None)


@router.get("/prompts", summary="List prompts (Langfuse PromptMeta) with filters and pages")
async def list_prompts(
    request: Request,
    _: Reader,
    name: str | None = None,
    label: str | None = None,
    tag: str | None = None,
    page: Page = 1,
    limit: Limit = 50,
    from_updated_at: Annotated[datetime | None, Query(alias="fromUpdatedAt")] = None,
    to_updated_at: Annotated[datetime | None, Query(alias="toUpdatedAt")] = None,
) -> Response:
    store = registry_of(request).store

    def query() -> list[dict[str, Any]]:
        with store.read() as conn:
            return lf_queries.prompt_metas(
                conn,
                name=name,
                label=label,
                tag=tag,
                updated_from=as_utc(from_updated_at),
                updated_to=as_utc(to_updated_at),
            )

    metas = await run_in_threadpool(query)
    chosen = metas[(page - 1) * limit : page * limit]
    return json_response({"data": chosen, "meta": page_meta(page, limit, len(metas))})


# -- writes ------------------------------------------------------------------------------------


def _refuse(what: str, how: str) -> ApiProblem:
    return ApiProblem(
        403,
        "managed_in_git",
        f"{what} is refused: this registry's prompts come from git, so changes go through a "
        f"pull request. {how} Then let CI run `promptrail publish`. (A server started with "
        "PROMPTRAIL_LANGFUSE_WRITES=on accepts such writes and reports them as drift in "
        "`promptrail plan --check`.)",
    )


def _check_labels(labels: list[str]) -> list[str]:
    for label in labels:
        if label == LATEST:
            raise ApiProblem(400, "invalid", "`latest` is set automatically; it cannot be given")
        if not LABEL_RE.match(label):
            raise ApiProblem(
                400,
                "invalid",
                f"invalid label {label!r}: lowercase letters, digits, '-', '_' and '.', at most "
                "63 characters",
            )
    return sorted(set(labels))


def _source(message: str | None) -> PublishSource:
    note = "created through the Langfuse-compatible API, outside git"
    return PublishSource(ref=SOURCE_REF, author="langfuse-api", message=message or note)


def _apply(registry: Registry, body: PublishRequest, principal: Principal) -> None:
    result = _publish(registry, body, principal)
    if result.revision is not None:
        registry.advance(result.revision)


def _created(registry: Registry, name: str, version: int) -> Response:
    _, entry = _load(registry.store, name, None, version)
    return Response(entry.body, status_code=entry.status, media_type="application/json")


@router.post("/prompts", summary="Create a prompt version (refused unless the server allows it)")
async def create_prompt(request: Request, principal: Publisher) -> Response:
    registry = registry_of(request)
    try:
        body = PromptCreate.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        raise ApiProblem(400, "invalid", f"invalid prompt body: {exc}") from None
    if not registry.settings.langfuse_writes:
        raise _refuse(
            f"creating a version of prompt {body.name!r} through the Langfuse API",
            f"Edit prompts/{body.name}.yaml in your repository (raise `version:` by one, set "
            f"`labels: {body.labels or []}`), commit it and open a pull request.",
        )
    if not is_valid_name(body.name):
        raise ApiProblem(400, "invalid", f"invalid prompt name {body.name!r} for promptrail")
    labels = _check_labels(body.labels)
    try:
        messages = from_lf_messages(body.prompt) if isinstance(body.prompt, list) else None
    except ValueError as exc:
        raise ApiProblem(400, "invalid", str(exc)) from None
    if (body.type == "chat") != (messages is not None):
        raise ApiProblem(400, "invalid", "a chat prompt is a list of messages, a text one a string")
    text = body.prompt if isinstance(body.prompt, str) else None

    def work() -> int:
        state = registry.store.state([body.name]).prompts.get(body.name)
        version = max(state.versions, default=0) + 1 if state else 1
        config = body.config or {}
        upload = VersionUpload(
            name=body.name,
            version=version,
            type=body.type,
            prompt=text,
            messages=messages,
            config=config,
            hash=content_hash(content_of(body.type, text, messages, config)),
            message=body.commit_message,
        )
        moves = [
            LabelMove(
                name=body.name,
                label=label,
                version=version,
                expected=state.labels.get(label) if state else None,
            )
            for label in labels
        ]
        metadata = {body.name: {"tags": body.tags}} if body.tags is not None else {}
        request_ = PublishRequest(
            source=_source(body.commit_message), versions=[upload], labels=moves, metadata=metadata
        )
        _apply(registry, request_, principal)
        return version

    version = await run_in_threadpool(work)
    return await run_in_threadpool(_created, registry, body.name, version)


@router.patch(
    "/prompts/{name:path}/versions/{version}",
    summary="Add labels to a prompt version (refused unless the server allows it)",
)
async def update_labels(
    request: Request,
    name: str,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    update: LabelsUpdate,
    principal: Publisher,
) -> Response:
    registry = registry_of(request)
    if not registry.settings.langfuse_writes:
        wanted = ", ".join(f"{label}: {version}" for label in update.new_labels)
        raise _refuse(
            f"moving labels of prompt {name!r} through the Langfuse API",
            f"In prompts/{name}.yaml use the mapping form `labels: {{{wanted}}}` (or "
            "`promptrail label` to edit it for you), commit it and open a pull request.",
        )
    labels = _check_labels(update.new_labels)

    def work() -> None:
        state = registry.store.state([name]).prompts.get(name)
        if state is None or version not in state.versions:
            raise ApiProblem(404, "not_found", f"prompt {name!r} has no version {version}")
        moves = [
            LabelMove(name=name, label=label, version=version, expected=state.labels.get(label))
            for label in labels
            if state.labels.get(label) != version
        ]
        if moves:
            _apply(registry, PublishRequest(source=_source(None), labels=moves), principal)

    await run_in_threadpool(work)
    return await run_in_threadpool(_created, registry, name, version)
