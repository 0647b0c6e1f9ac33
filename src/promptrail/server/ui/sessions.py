"""Session pages: the list, and one session's traces in order, read as a conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from promptrail.api.tracing import TraceSummary
from promptrail.server.ui.auth import Viewing
from promptrail.server.ui.common import content_text, int_param, messages_in, pretty, read, render
from promptrail.store.trace_queries import get_session, list_sessions

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
TEXT_KEYS = ("message", "question", "query", "input", "text", "content", "answer", "output")


def turn_text(value: Any, role: str) -> str | None:
    """What a person said (role user) or was told (assistant) in a trace's input or output."""
    if value is None:
        return None
    messages = messages_in(value)
    if messages:
        said = [m for m in messages if m.get("role") == role] or messages
        return content_text(said[-1].get("content"))
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in TEXT_KEYS:
            if isinstance(value.get(key), str):
                return str(value[key])
        if isinstance(value.get("choices"), list) and value["choices"]:
            choice = value["choices"][0]
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                return content_text(choice["message"].get("content"))
    return pretty(value)


@dataclass
class Turn:
    trace: TraceSummary
    asked: str | None
    answered: str | None


@router.get("/sessions")
async def session_list(request: Request, viewer: Viewing) -> Response:
    params = request.query_params
    user = params.get("user", "").strip() or None
    page = max(int_param(params.get("page"), 1) or 1, 1)
    found = await read(
        request,
        lambda conn: list_sessions(
            conn, user_id=user, start=None, end=None, page=page, limit=PAGE_SIZE
        ),
    )
    return render(request, "sessions.html", sessions=found.data, meta=found.meta, user=user)


@router.get("/sessions/{session_id:path}")
async def session_page(request: Request, session_id: str, viewer: Viewing) -> Response:
    session = await read(request, lambda conn: get_session(conn, session_id))
    turns = [
        Turn(t, turn_text(t.input, "user"), turn_text(t.output, "assistant"))
        for t in session.traces
    ]
    cost = sum(t.cost or 0.0 for t in session.traces)
    tokens = sum(t.usage.total for t in session.traces)
    users = sorted({t.user_id for t in session.traces if t.user_id})
    return render(
        request,
        "session.html",
        session=session,
        turns=turns,
        cost=cost,
        tokens=tokens,
        users=users,
    )
