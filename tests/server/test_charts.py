"""The dashboard's SVG charts: every series named in the legend, however many and long."""

from __future__ import annotations

import re

from promptrail.server.ui.charts import RIGHT, WIDTH, Series, bar_chart, line_chart

MODELS = [
    "claude-3-5-sonnet-20241022",
    "gpt-4o-mini-2024-07-18",
    "gemini-1.5-pro-002",
    "llama-3.1-70b-instruct",
    "mistral-large-2407",
    "gpt-4o-2024-08-06",
    "other",
]
DAYS = ["2026-12-01", "2026-12-02"]


def _legend(svg: str) -> list[tuple[float, float, str]]:
    found = re.findall(r'<text class="legend" x="([\d.]+)" y="([\d.]+)">([^<]+)</text>', svg)
    return [(float(x), float(y), name) for x, y, name in found]


def test_a_long_legend_wraps_and_names_every_series() -> None:
    series = [Series(name, [1.0, 2.0]) for name in MODELS]
    for svg in (bar_chart("Cost", DAYS, series, str), line_chart("Cost", DAYS, series, str)):
        legend = _legend(str(svg))
        assert [name for _, _, name in legend] == MODELS
        assert all(x + 7 * len(name) <= WIDTH - RIGHT + 10 for x, _, name in legend)
        rows = sorted({y for _, y, _ in legend})
        assert len(rows) > 1
        grid = [float(y) for y in re.findall(r'<line class="grid" [^>]*y1="([\d.]+)"', str(svg))]
        assert min(grid) > rows[-1] + 4  # the plot starts below the last legend row
        assert 'viewBox="0 0 640 230"' not in str(svg)  # the chart grew by those rows


def test_a_short_legend_stays_on_one_row() -> None:
    svg = str(bar_chart("Cost", DAYS, [Series("gpt-4o", [1, 2]), Series("other", [1, 1])], str))
    assert {y for _, y, _ in _legend(svg)} == {19.0}
    assert 'viewBox="0 0 640 230"' in svg
