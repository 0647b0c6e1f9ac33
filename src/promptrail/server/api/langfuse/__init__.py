"""The Langfuse-compatible API under `/api/public`: what the official Langfuse SDK calls.

`LANGFUSE_HOST=<this server>` with a promptrail key pair (HTTP Basic `public:secret`) is
enough for Langfuse code to fetch prompts, send traces (OTLP, `server/api/otlp`), scores
and legacy ingestion batches, and read them back. Prompt writes are refused unless the
server accepts them (`PROMPTRAIL_LANGFUSE_WRITES=on`): git is the source of truth.
One module per resource; `router` gathers them for `server/app.py`.
"""

from __future__ import annotations

from fastapi import APIRouter

from promptrail.server.api.langfuse import datasets, health, ingestion, prompts, scores, traces
from promptrail.server.errors import ERROR_RESPONSES

router = APIRouter()
for _module in (health, prompts, scores, ingestion, traces, datasets):
    # The same error answers as the native API, so /openapi.json documents them here too.
    router.include_router(_module.router, responses=ERROR_RESPONSES)

__all__ = ["router"]
