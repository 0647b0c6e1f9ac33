"""What the store refuses, as exceptions the API and the CLI turn into messages.

Each carries `code` (the `ApiError.error` the API answers with), a message a person can
act on, and `details` (one dict per problem, for scripts).
"""

from __future__ import annotations

from typing import Any

from promptrail.errors import Conflict, PromptNotFound, UsageError


class StoreConflict(Conflict):
    """409: the registry is not in the state the request was made against."""

    code = "conflict"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message, status=409)
        self.details = details or []


class InvalidRequest(UsageError):
    """400: the request contradicts itself or breaks a rule, whatever the registry holds."""

    code = "invalid"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.details = details or []


class NotFound(PromptNotFound):
    """404: no such prompt, label, version or key."""

    code = "not_found"

    def __init__(self, message: str):
        super().__init__(message, status=404)
        self.details: list[dict[str, Any]] = []


class SchemaError(UsageError):
    """The database schema is older or newer than this promptrail; says what to run."""


def summarize(head: str, problems: list[dict[str, Any]], tail: str = "") -> str:
    """One message listing the first problems (all of them are in `details`)."""
    lines = [f"  - {p['message']}" for p in problems[:10]]
    if len(problems) > 10:
        lines.append(f"  ... and {len(problems) - 10} more (see details)")
    return f"{head}:\n" + "\n".join(lines) + (f"\n{tail}" if tail else "")
