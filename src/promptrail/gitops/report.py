"""Print validation problems for a person (`text`), a script (`json`) or GitHub (`github`).

Every format returns the exit status: 1 when any problem is an error, else 0. Warnings are
printed but never fail a run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from promptrail.errors import Problem
from promptrail.gitops.validate import is_error, severity

FORMATS = ("text", "json", "github")


def exit_code(problems: Sequence[Problem]) -> int:
    return 1 if any(is_error(p) for p in problems) else 0


def report(
    problems: Sequence[Problem],
    fmt: str = "text",
    out: TextIO | None = None,
    checked: int | None = None,
) -> int:
    """Write `problems` to `out` (stdout) in `fmt`; returns the exit status."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(render_json(problems) + "\n")
    elif fmt == "github":
        out.write(render_github(problems))
    else:
        out.write(render_text(problems, checked))
    return exit_code(problems)


# -- text ---------------------------------------------------------------------------------


def render_text(problems: Sequence[Problem], checked: int | None = None) -> str:
    """`file:line: error[code]: message`, grouped by file, then a summary line."""
    lines: list[str] = []
    groups: dict[str, list[Problem]] = {}
    for problem in problems:
        groups.setdefault(problem.file or "", []).append(problem)
    for file, group in groups.items():
        for problem in group:
            where = f"{problem.location()}: " if file else ""
            lines.append(f"{where}{severity(problem)}[{problem.code}]: {problem.message}")
        lines.append("")
    lines.append(summary(problems, checked))
    return "\n".join(lines) + "\n"


def summary(problems: Sequence[Problem], checked: int | None = None) -> str:
    errors = [p for p in problems if is_error(p)]
    warnings = len(problems) - len(errors)
    if not problems:
        if checked is None:
            return "ok: no problems"
        return f"ok: {_count(checked, 'prompt')} {'is' if checked == 1 else 'are'} valid"
    files = len({p.file for p in errors if p.file})
    parts = []
    if errors:
        where = f" in {files} file{'s' if files != 1 else ''}" if files else ""
        parts.append(f"{_count(len(errors), 'error')}{where}")
    if warnings:
        parts.append(_count(warnings, "warning"))
    return ", ".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


# -- json ---------------------------------------------------------------------------------


def as_dict(problem: Problem) -> dict[str, object]:
    return {
        "severity": severity(problem),
        "code": problem.code,
        "file": problem.file,
        "line": problem.line,
        "name": problem.name,
        "message": problem.message,
    }


def render_json(problems: Sequence[Problem]) -> str:
    return json.dumps([as_dict(p) for p in problems], indent=2, ensure_ascii=False)


# -- GitHub workflow commands ------------------------------------------------------------


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(problems: Sequence[Problem]) -> str:
    """One `::error file=...,line=...,title=...::message` line per problem."""
    lines = []
    for problem in problems:
        props = []
        if problem.file:
            props.append(f"file={_escape_property(problem.file)}")
            if problem.line:
                props.append(f"line={problem.line}")
        props.append(f"title={_escape_property(f'promptrail {problem.code}')}")
        lines.append(f"::{severity(problem)} {','.join(props)}::{_escape_data(problem.message)}")
    if problems:
        lines.append(summary(problems))
    return "".join(line + "\n" for line in lines)
