"""Coverage-per-day bar charts as plain geometry and inline SVG rects (no script)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple, Sequence

from markupsafe import Markup, escape

DAY_ONE = date.min.toordinal()


class Bar(NamedTuple):
    """One bar: position, size and what it counts."""

    x: float
    y: float
    w: float
    h: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A bar chart of reports per day (or per run of days when the span is long)."""

    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    first: str = ""
    last: str = ""
    peak: int = 0
    days_per_bar: int = 1
    total: int = 0

    @property
    def rects(self) -> Markup:
        """The bars as SVG rects with their tooltips (built here: a template loop costs more than the chart)."""
        # A label is made of day strings and a count (binned_chart), so there is nothing in it to escape.
        return Markup("".join(
            f'<rect x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}"><title>{b.label}</title></rect>' for b in self.bars
        ))


# A page of story cards charts about a thousand days, and the next page the same days again: parsing
# and printing each day anew took about a third of the stories page's time (100,000 articles stored).
@lru_cache(maxsize=65_536)
def _ordinal(day: str) -> int:
    """The day number of a string that begins YYYY-MM-DD (ValueError otherwise)."""
    return date.fromisoformat(day[:10]).toordinal()


@lru_cache(maxsize=65_536)
def _iso(number: int) -> str:
    """A day number as YYYY-MM-DD."""
    return date.fromordinal(number).isoformat()


def chart_svg(chart: Chart, cls: str = "spark") -> Markup:
    """A chart as inline SVG with its summary as title ("" without bars); `cls` is a fixed CSS class."""
    if not chart.bars:
        return Markup("")
    per_bar = f" ({chart.days_per_bar} days per bar)" if chart.days_per_bar > 1 else ""
    reports = f"{chart.total} report{'s' if chart.total != 1 else ''}"
    return Markup(
        f'<svg class="{escape(cls)}" width="{chart.width}" height="{chart.height}" viewBox="0 0 {chart.width} {chart.height}" '
        f'role="img" aria-label="{reports} from {chart.first} to {chart.last}">\n'
        f"<title>{reports}, {chart.first} – {chart.last}{per_bar}</title>\n{chart.rects}</svg>"
    )


def day_number(day: Any) -> int | None:
    """A YYYY-MM-DD day as a day number, or None for anything else."""
    try:
        return _ordinal(day)
    except (TypeError, ValueError):
        return None


def _per_day(days: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Counts by day number (entries on the same day summed, unreadable days left out)."""
    try:  # the usual case, every day readable, in one pass (a chart can have thousands of days)
        pairs = [(_ordinal(d["day"]), int(d["n"])) for d in days]
    except (TypeError, ValueError):
        pairs = [(day, int(d["n"])) for d in days if (day := day_number(d["day"])) is not None]
    counts: dict[int, int] = {}
    for day, n in pairs:
        counts[day] = counts.get(day, 0) + n
    return counts


def _when(start: int, step: int, last: int) -> str:
    """A bar's day, or its run of days (cut at the last day)."""
    return _iso(start) if step == 1 else f"{_iso(start)} – {_iso(min(last, start + step - 1))}"


class Frame(NamedTuple):
    """Where a chart's bars fall: its first and last day (day numbers), days per bar, how many bars."""

    first: int
    last: int
    step: int
    n_bars: int


def frame(first: int, last: int, max_bars: int = 30, min_days: int = 14) -> Frame:
    """The bars for days `first`..`last`: empty days kept, long spans binned, short ones widened to `min_days`."""
    # Gaps are news too; and one day of coverage must not fill the chart as one full-width block.
    if last - DAY_ONE >= min_days:
        first = min(first, last - (min_days - 1))
    span = last - first + 1
    step = max(1, math.ceil(span / max_bars))
    return Frame(first, last, step, math.ceil(span / step))


def coverage_chart(
    days: Sequence[dict[str, Any]], width: int = 120, height: int = 24, max_bars: int = 30, min_days: int = 14
) -> Chart:
    """Bars for per-day counts ({"day": "YYYY-MM-DD", "n": reports} each), framed as `frame` says."""
    counts = _per_day(days)
    if not counts:
        return Chart(width, height)
    at = frame(min(counts), max(counts), max_bars, min_days)
    bins = [0] * at.n_bars
    for day, n in counts.items():
        bins[(day - at.first) // at.step] += n
    return binned_chart(at, bins, width, height)


def binned_chart(at: Frame, bins: list[int], width: int, height: int) -> Chart:
    """The chart of reports per bar, counted already (a store can bin a long story's days itself)."""
    first, last, step, n_bars = at
    peak = max(bins)
    bar_w = width / n_bars
    w = round(max(bar_w - 1, 0.5), 2)
    bars = []
    for i, n in enumerate(bins):
        if not n:
            continue
        h = max(1.0, height * n / peak)
        label = f"{_when(first + i * step, step, last)}: {n}"
        bars.append(Bar(round(i * bar_w, 2), round(height - h, 2), w, round(h, 2), label))
    return Chart(width, height, bars, _iso(first), _iso(last), peak, step, sum(bins))
