"""What every page family shares: templates, formatting, reading the store, time ranges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from promptrail import __version__
from promptrail.api.registry import is_web_url
from promptrail.api.verdicts import words as verdict_words
from promptrail.server.state import read
from promptrail.units import NONE, duration_ms, usd

__all__ = ["read"]  # the pages read the store through here

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
RANGES = (1, 7, 30, 90)  # days a page can look back
DEFAULT_DAYS = 30

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    html = env.get_template(template).render(
        request=request, viewer=viewer, version=__version__, **context
    )
    return HTMLResponse(html, status_code=status)


def int_param(value: str | None, default: int | None = None) -> int | None:
    """A whole number typed into a URL (ASCII digits, at most 9 of them), else `default`.

    (`str.isdigit` alone takes "²", which int() refuses.)"""
    if value and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return default


def days_param(value: int | None, default: int = DEFAULT_DAYS) -> int:
    return value if value in RANGES else default


# -- formatting (registered as Jinja filters) ------------------------------------------------


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def when(value: str | datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
    """`2024-06-01 12:03` (UTC)."""
    moment = parse_time(value)
    return "" if moment is None else moment.astimezone(UTC).strftime(form)


def when_seconds(value: str | datetime | None) -> str:
    return when(value, "%Y-%m-%d %H:%M:%S")


def ago(value: str | datetime | None) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = (datetime.now(UTC) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def num(value: float | None) -> str:
    if value is None:
        return NONE
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def short(value: str | None, size: int = 8) -> str:
    return "" if not value else value[:size]


def pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def is_messages(value: Any) -> bool:
    """A list of chat messages ({role, content}), shown as a conversation."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and "role" in m for m in value)
    )


def messages_in(value: Any) -> list[dict[str, Any]] | None:
    if is_messages(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, dict) and is_messages(value.get("messages")):
        return value["messages"]  # type: ignore[no-any-return]
    return None


def content_text(content: Any) -> str:
    """A message's content as text (OpenAI-style lists of parts included)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return "\n".join(p for p in parts if p)
    return pretty(content)


def url(path: str, **params: Any) -> str:
    """`path?k=v` without the parameters that are None or empty."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(kept, doseq=True) if kept else "")


def prompt_url(name: str, version: int | None = None) -> str:
    return url(f"/prompts/{quote(name)}", version=version)


def with_params(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return url(request.url.path, **params)


def web_url(value: str | None) -> str | None:
    """The URL when it may be a link (http or https), else None: a stored `javascript:` URL
    from before they were refused must not become a link either."""
    return value if is_web_url(value) else None


env.filters.update(
    web_url=web_url,
    when=when,
    when_seconds=when_seconds,
    ago=ago,
    ms=duration_ms,
    usd=usd,
    num=num,
    short=short,
    pretty=pretty,
    content_text=content_text,
    verdict=verdict_words,
)
env.globals.update(
    url=url,
    prompt_url=prompt_url,
    with_params=with_params,
    messages_in=messages_in,
    is_messages=is_messages,
    ranges=RANGES,
    Markup=Markup,
)
