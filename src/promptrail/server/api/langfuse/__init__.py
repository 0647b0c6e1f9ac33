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

router = APIRouter()
for _module in (health, prompts, scores, ingestion, traces, datasets):
    router.include_router(_module.router)

__all__ = ["router"]
