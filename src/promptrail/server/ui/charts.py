"""Server-rendered SVG charts: bars (stacked) and lines, with axes, gridlines and a legend.

Each chart is a self-contained <svg> that scales to its container; every bar and point
carries a <title>, so hovering shows the exact value. No JavaScript.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

COLORS = ("#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5")
WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 64, 14, 34, 30
MAX_X_LABELS = 8
LEGEND_ROW = 16  # each further row of legend entries makes the chart this much taller
Format = Callable[[float], str]


@dataclass
class Series:
    name: str
    values: Sequence[float | None]


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of 10) up to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    rough = top / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    return [step * i for i in range(math.ceil(top / step - 1e-9) + 1)]


def _x_label(label: str) -> str:
    """`2024-06-01` shows as `06-01`; other labels as they are."""
    return label[5:] if len(label) == 10 and label[4] == "-" else label


def legend_layout(names: Sequence[str]) -> list[tuple[float, int, str]]:
    """(x, row, name) of each legend entry: rows wrap at the chart's width, so every
    series is named however many there are and however long their names."""
    placed: list[tuple[float, int, str]] = []
    x, row = float(LEFT), 0
    for name in names:
        width = 24 + 7 * len(name)
        if x > LEFT and x + width - 10 > WIDTH - RIGHT:
            x, row = float(LEFT), row + 1
        placed.append((x, row, name))
        x += width
    return placed


class _Frame:
    def __init__(
        self,
        title: str,
        labels: Sequence[str],
        top: float,
        fmt: Format,
        legend: Sequence[str] = (),
    ):
        self.labels, self.fmt = labels, fmt
        self.ticks = nice_ticks(top)
        self.ymax = self.ticks[-1] or 1.0
        self.legend_entries = legend_layout(legend)
        extra = LEGEND_ROW * (self.legend_entries[-1][1] if self.legend_entries else 0)
        self.top, self.height = TOP + extra, HEIGHT + extra
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = self.height - self.top - BOTTOM
        self.band = self.plot_w / max(len(labels), 1)
        self.parts: list[str] = [
            f'<svg class="chart" viewBox="0 0 {WIDTH} {self.height}" role="img" '
            f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
        ]

    def y(self, value: float) -> float:
        return self.top + self.plot_h - value / self.ymax * self.plot_h

    def x(self, index: int) -> float:
        return LEFT + self.band * (index + 0.5)

    def axes(self) -> None:
        for tick in self.ticks:
            y = self.y(tick)
            self.parts.append(
                f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{escape(self.fmt(tick))}</text>"
            )
        every = max(1, math.ceil(len(self.labels) / MAX_X_LABELS))
        for i, label in enumerate(self.labels):
            if i % every == 0:
                self.parts.append(
                    f'<text class="tick" x="{self.x(i):.1f}" y="{self.height - BOTTOM + 16}" '
                    f'text-anchor="middle">{escape(_x_label(label))}</text>'
                )
        base = self.y(0)
        self.parts.append(
            f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base:.1f}" y2="{base:.1f}"/>'
        )

    def legend(self) -> None:
        for i, (x, row, name) in enumerate(self.legend_entries):
            color = COLORS[i % len(COLORS)]
            y = 10 + LEGEND_ROW * row
            self.parts.append(
                f'<rect x="{x:.0f}" y="{y}" width="10" height="10" rx="2" fill="{color}"/>'
                f'<text class="legend" x="{x + 14:.0f}" y="{y + 9}">{escape(name)}</text>'
            )

    def done(self) -> Markup:
        self.parts.append("</svg>")
        return Markup("".join(self.parts))


def _empty(title: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">'
        f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
        "No data in this range</text></svg>"
    )


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    *,
    legend: bool = True,
) -> Markup:
    """Bars per label, the series stacked in order, with a legend unless `legend=False`."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    if not labels or not any(totals):
        return _empty(title)
    names = [s.name for s in series] if legend else []
    frame = _Frame(title, labels, max(totals), fmt, names)
    frame.axes()
    width = max(frame.band * 0.72, 1.0)
    for i, label in enumerate(labels):
        bottom = 0.0
        for k, one in enumerate(series):
            value = one.values[i] or 0
            if value <= 0:
                continue
            y_top, y_bottom = frame.y(bottom + value), frame.y(bottom)
            tip = f"{label} · {one.name}: {fmt(value)}" if legend else f"{label}: {fmt(value)}"
            frame.parts.append(
                f'<rect x="{frame.x(i) - width / 2:.1f}" y="{y_top:.1f}" width="{width:.1f}" '
                f'height="{max(y_bottom - y_top, 0.5):.1f}" fill="{COLORS[k % len(COLORS)]}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            bottom += value
    frame.legend()
    return frame.done()


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], fmt: Format) -> Markup:
    """One line per series; missing values (None) break the line."""
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return _empty(title)
    frame = _Frame(title, labels, max(values), fmt, [s.name for s in series])
    frame.axes()
    for k, one in enumerate(series):
        color = COLORS[k % len(COLORS)]
        points: list[str] = []
        segments: list[list[str]] = [points]
        dots: list[str] = []
        for i, value in enumerate(one.values):
            if value is None:
                points = []
                segments.append(points)
                continue
            points.append(f"{frame.x(i):.1f},{frame.y(value):.1f}")
            dots.append(
                f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(value):.1f}" r="3" fill="{color}">'
                f"<title>{escape(f'{labels[i]} · {one.name}: {fmt(value)}')}</title></circle>"
            )
        for segment in segments:
            if len(segment) > 1:
                frame.parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                    f'points="{" ".join(segment)}"/>'
                )
        frame.parts.extend(dots)
    frame.legend()
    return frame.done()
