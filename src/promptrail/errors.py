"""Every exception promptrail raises, in one tree.

PromptrailError
 ├── UsageError            the caller asked for something malformed (CLI exit 2)
 ├── ProblemsFound         prompt files or registry state are wrong (CLI exit 1)
 ├── PromptFileError       one file cannot be read; carries file and line
 ├── GitError              not a repository, or a ref that does not exist
 ├── TemplateError         a template that does not parse or cannot render
 │    └── MissingVariable  compile() was not given a variable the template uses
 ├── EvaluatorError        an evaluator could not score an item (recorded on the item)
 ├── LlmUnavailable        the LLM endpoint could not be reached at all (CLI exit 3)
 └── RegistryError         the registry refused a request or could not be reached
      ├── Conflict         409: a stale plan or a version number with other content
      ├── Unauthorized     401/403: no key, a wrong key, or a key without the scope
      ├── PromptNotFound   no such prompt, label or version anywhere we looked
      └── RegistryUnavailable   down, slow, or answering garbage, and no fallback left
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the prompts; many are collected and reported in one run."""

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


@dataclass
class ProblemsFound(PromptrailError):
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class PromptFileError(PromptrailError):
    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.problem = Problem(message, file, line, code="syntax")

    def __str__(self) -> str:
        return str(self.problem)


class GitError(PromptrailError):
    pass


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


class RegistryError(PromptrailError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class Conflict(RegistryError):
    pass


class Unauthorized(RegistryError):
    pass


class PromptNotFound(RegistryError):
    pass


class RegistryUnavailable(RegistryError):
    pass
