"""What a comparison's verdict is called, in one place (here, where the SDK side and the
server side meet: `api/`).

`eval/stats.py` decides the verdict from the interval (and, paired, the sign test) and
records it as a code, `better`, `worse` or `same`, which is what the JSON of `promptrail
eval --base` carries. Everything that shows a verdict to a person says it with the words
below: the terminal (`eval/prview.py`), the pull-request comment (`gitops/evalcomment.py`,
`gitops/prcomment.py`), the UI's run comparison and its "Quality in production", and the
`verdict_text` of `GET /api/v1/metrics/compare`. Imports nothing heavy (no numpy).
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["better", "worse", "same"]
VerdictText = Literal["improvement", "regression", "no detectable change"]

IMPROVEMENT: VerdictText = "improvement"
REGRESSION: VerdictText = "regression"
NO_CHANGE: VerdictText = "no detectable change"

_WORDS: dict[str, VerdictText] = {"better": IMPROVEMENT, "worse": REGRESSION, "same": NO_CHANGE}
_MARKS = {"better": "✅ ", "worse": "❌ ", "same": ""}


def words(verdict: str | None) -> VerdictText:
    """`better` -> improvement, `worse` -> regression, anything else -> no detectable change."""
    return _WORDS.get(verdict or "same", NO_CHANGE)


def marked(verdict: str | None) -> str:
    """The words with a mark for markdown: `✅ improvement`, `❌ regression`."""
    return _MARKS.get(verdict or "same", "") + words(verdict)
