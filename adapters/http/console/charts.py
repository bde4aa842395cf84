"""Charts drawn on the server as inline SVG: the geometry of a day series, for the templates.

Why SVG from the server and not a JavaScript library (Chart.js, uPlot): the console's pages
are server-rendered and must work on a shop's intranet with nothing fetched at run time; an
SVG needs no script, no vendored bundle, draws before any script runs, prints, and its labels
are the same Babel-formatted strings as the page's tables (locale, currency, time zone). The
charts are simple (one series of at most a few dozen days), which is all a library would add
here. Each chart carries a text title for screen readers, and the page shows every figure in
a table as well.

Geometry only: heights are pixel positions computed in integers; the values shown are the
exact integers given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH = 600
HEIGHT = 160
TOP = 12  # room for the top value's label
BOTTOM = 20  # room for the first and last day's labels
LEFT = 4
PLOT = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    value: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Chart:
    """One series over days: bars, and the same points as a polyline for a line chart."""

    bars: list[Bar]
    top: int  # the largest value (the scale's top)
    points: str  # "x,y x,y ..." through the middle of each bar's top
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - BOTTOM

    @property
    def first(self) -> Bar | None:
        return self.bars[0] if self.bars else None

    @property
    def last(self) -> Bar | None:
        return self.bars[-1] if self.bars else None


def day_chart(days: Sequence[date], values: Sequence[int], *, from_zero: bool = True) -> Chart:
    """Bars of ``values`` (one per day, negative drawn as zero) scaled to the largest; a line
    chart (``from_zero`` False) scales from the smallest value to the largest instead."""
    if len(days) != len(values):
        raise ValueError("one value per day")
    if not days:
        return Chart([], 0, "")
    shown = [max(v, 0) for v in values]
    top = max(shown)
    bottom = 0 if from_zero else min(shown)
    span = top - bottom
    step = (WIDTH - LEFT) // len(days)
    width = max(step - 2, 1)
    bars = []
    for i, (day, value) in enumerate(zip(days, shown, strict=True)):
        height = 0 if span == 0 else (value - bottom) * PLOT // span
        if span == 0 and value > 0:
            height = PLOT  # a flat, non-zero series fills the plot
        x = LEFT + i * step
        bars.append(Bar(day, values[i], x, TOP + PLOT - height, width, height))
    points = " ".join(f"{b.x + b.width // 2},{b.y}" for b in bars)
    return Chart(bars, top, points)
