"""What every Langfuse-compatible route shares: the prefix, auth, JSON bytes and pages."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.responses import Response

from promptrail.server.auth import ANYONE, Principal, require_scope

PREFIX = "/api/public"
TAGS: list[str | Any] = ["langfuse"]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Ingester = Annotated[Principal, Depends(require_scope("ingest"))]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=1000)]


async def any_key(request: Request) -> Principal:
    """A valid key whatever its scopes (what Langfuse's auth check asks)."""
    registry = request.app.state.registry
    header = request.headers.get("authorization")
    if not registry.settings.auth:
        return ANYONE
    if not header:
        return await _READ(request)  # answers 401 with the usual message
    principal: Principal = await registry.keys.resolve(registry.store, header)
    return principal


_READ = require_scope("read")


AnyKey = Annotated[Principal, Depends(any_key)]


def json_response(body: Any, status: int = 200) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return Response(data, status_code=status, media_type="application/json")


def page_meta(page: int, limit: int, total: int) -> dict[str, int]:
    """Langfuse's MetaResponse."""
    return {
        "page": page,
        "limit": limit,
        "totalItems": total,
        "totalPages": max(1, math.ceil(total / limit)) if total else 0,
    }
