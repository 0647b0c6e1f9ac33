"""A word-level diff of two outputs: what a reviewer reads to see how an answer changed.

Words and the whitespace between them are the units, so a changed word shows as one
deletion and one insertion and a reflowed paragraph does not light up whole. The plain
form follows `git diff --word-diff=plain` (`[-old-]{+new+}`), which CI logs show as is.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

_WORDS = re.compile(r"\s+|[^\s]+")

Op = Literal["equal", "delete", "insert"]


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str


def as_text(value: Any) -> str:
    """An output as text: strings as they are, anything else as indented JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def word_diff(old: Any, new: Any) -> list[Piece]:
    a, b = _WORDS.findall(as_text(old)), _WORDS.findall(as_text(new))
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("delete", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("insert", "".join(b[j1:j2])))
    return pieces


def plain(pieces: list[Piece]) -> str:
    marks = {"equal": ("", ""), "delete": ("[-", "-]"), "insert": ("{+", "+}")}
    return "".join(marks[p.op][0] + p.text + marks[p.op][1] for p in pieces)
