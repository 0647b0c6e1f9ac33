"""Every exception promptrail raises, in one tree.

PromptrailError
 ├── UsageError              the caller asked for something malformed (CLI exit 2)
 │    ├── InvalidRequest     400: a request that contradicts itself or breaks a rule
 │    └── SchemaError        the database schema is older or newer than this promptrail
 ├── ProblemsFound           prompt files or registry state are wrong (CLI exit 1)
 │    └── SchemaProblems     one prompt file's fields do not match the spec
 ├── PromptFileError         one file cannot be read; carries file and line
 ├── GitError                not a repository, a ref that does not exist, git failing
 ├── TemplateError           a template that does not parse or cannot render
 │    └── MissingVariable    compile() was not given a variable the template uses
 ├── SnapshotError           a snapshot file the runtime client cannot use
 ├── InvalidPromptData       a registry answer or snapshot entry that is not a version
 ├── GitHubError             GitHub refused a request or could not be reached
 ├── ExportError             the tracer could not deliver a batch
 │    ├── RetryableError     the destination is down or overloaded: try again later
 │    └── PermanentError     the destination refused the batch for good
 ├── ApiProblem              raised by a server route to answer with an ApiError
 ├── LoginRequired           a UI page needs a login: the handler redirects to /login
 ├── Refused                 the key lacks the scope a UI page or action needs (403)
 ├── EvaluatorError          an evaluator could not score an item (recorded on the item)
 ├── LlmUnavailable          the LLM endpoint could not be reached at all (CLI exit 3)
 ├── MalformedAnswer         the LLM endpoint answered 200 with something not a completion
 └── RegistryError           the registry refused a request or could not be reached
      ├── Conflict           409: a stale plan or a version number with other content
      │    └── StoreConflict the store's refusal, with a code and details for the API
      ├── Unauthorized       401/403: no key, a wrong key, or a key without the scope
      ├── PromptNotFound     no such prompt, label or version anywhere we looked
      │    └── NotFound      the store's 404, with a code for the API
      └── RegistryUnavailable   down, slow, or answering garbage, and no fallback left

The store's exceptions carry `code` (the `ApiError.error` the API answers with) and
`details` (one dict per problem, for scripts). This module imports nothing of promptrail.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple


class Problem(NamedTuple):
    """One thing wrong with the prompts; many are collected and reported in one run.

    A NamedTuple, not a dataclass: `dataclasses` imports `inspect` (with `ast`, `dis` and
    `tokenize`), which would add ~8 ms to every application's first `get_prompt`."""

    message: str
    file: str | None = None
    line: int | None = None
    code: str = "error"
    name: str | None = None  # the prompt it concerns, when there is one

    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class PromptrailError(Exception):
    """Base of every promptrail exception."""


class UsageError(PromptrailError):
    """The command or call was malformed: a bad option, an unknown name."""


class InvalidRequest(UsageError):
    """400: the request contradicts itself or breaks a rule, whatever the registry holds."""

    code = "invalid"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.details = details or []


class SchemaError(UsageError):
    """The database schema is older or newer than this promptrail; says what to run."""


class ProblemsFound(PromptrailError):
    def __init__(self, problems: Iterable[Problem] = ()):
        super().__init__()
        self.problems = list(problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class SchemaProblems(ProblemsFound):
    """A prompt file parses as YAML but its fields do not match the spec (one per field)."""


class PromptFileError(PromptrailError):
    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.problem = Problem(message, file, line, code="syntax")

    def __str__(self) -> str:
        return str(self.problem)


class GitError(PromptrailError):
    """git cannot answer: not a repository, an unknown ref, or git itself failing."""


class TemplateError(PromptrailError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line  # 1-based line within the template text, when known


class MissingVariable(TemplateError):
    def __init__(self, names: list[str], prompt: str | None = None):
        self.names = names
        what = f" of prompt {prompt!r}" if prompt else ""
        plural = "s" if len(names) > 1 else ""
        super().__init__(
            f"missing variable{plural} {', '.join(repr(n) for n in names)}{what}: "
            f"pass {', '.join(f'{n}=...' for n in names)} to compile()"
        )


class EvaluatorError(PromptrailError):
    """An evaluator failed on one item: a malformed judge answer, a function that raised."""


class LlmUnavailable(PromptrailError):
    """No call to the LLM endpoint got through (refused, unreachable, or every call failed)."""


class MalformedAnswer(PromptrailError):
    """The LLM endpoint answered, but not with a chat completion (recorded on the item)."""


class SnapshotError(PromptrailError):
    """A snapshot file that cannot be used; the message names the file and the fix."""


class InvalidPromptData(PromptrailError, ValueError):
    """A registry answer or snapshot entry that is not a prompt version."""


class GitHubError(PromptrailError):
    """GitHub refused a request or could not be reached; the message says what to do."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ExportError(PromptrailError):
    """The tracer's exporter could not deliver a batch."""


class RetryableError(ExportError):
    """The destination is down or overloaded: worth trying again later."""


class PermanentError(ExportError):
    """The destination refused the batch for good (bad key, malformed request)."""


class ApiProblem(PromptrailError):
    """Raise from a route to answer with an ApiError."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers


class LoginRequired(PromptrailError):
    """Raised by a page when nobody is logged in: the handler redirects to /login."""

    def __init__(self, next_path: str, message: str | None = None):
        super().__init__(message or "log in")
        self.next_path, self.message = next_path, message


class Refused(PromptrailError):
    """The key lacks the scope a page or an action needs: a 403 page says which."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RegistryError(PromptrailError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class Conflict(RegistryError):
    pass


class StoreConflict(Conflict):
    """409: the registry is not in the state the request was made against."""

    code = "conflict"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message, status=409)
        self.details = details or []


class Unauthorized(RegistryError):
    pass


class PromptNotFound(RegistryError):
    pass


class NotFound(PromptNotFound):
    """404: no such prompt, label, version or key."""

    code = "not_found"

    def __init__(self, message: str):
        super().__init__(message, status=404)
        self.details: list[dict[str, Any]] = []


class RegistryUnavailable(RegistryError):
    pass


def summarize(head: str, problems: list[dict[str, Any]], tail: str = "") -> str:
    """One message listing the first problems (all of them are in `details`)."""
    lines = [f"  - {p['message']}" for p in problems[:10]]
    if len(problems) > 10:
        lines.append(f"  ... and {len(problems) - 10} more (see details)")
    return f"{head}:\n" + "\n".join(lines) + (f"\n{tail}" if tail else "")
