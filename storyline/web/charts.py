"""Coverage-per-day bar charts as plain geometry, drawn as inline SVG by the templates (no script)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Sequence


@dataclass(frozen=True)
class Bar:
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


def _parse(day: str) -> date | None:
    """A YYYY-MM-DD day, or None for anything else."""
    try:
        return date.fromisoformat(day[:10])
    except (TypeError, ValueError):
        return None


def coverage_chart(
    days: Sequence[dict[str, Any]], width: int = 120, height: int = 24, max_bars: int = 30, min_days: int = 14
) -> Chart:
    """Bars for per-day counts: empty days kept, long spans binned, short ones widened to `min_days`."""
    # Gaps are news too; and one day of coverage must not fill the chart as one full-width block.
    counts: dict[date, int] = {}
    for d in days:
        day = _parse(d["day"])
        if day is not None:
            counts[day] = counts.get(day, 0) + int(d["n"])
    if not counts:
        return Chart(width, height)
    first, last = min(counts), max(counts)
    if (last - date.min).days >= min_days:
        first = min(first, last - timedelta(days=min_days - 1))
    span = (last - first).days + 1
    step = max(1, math.ceil(span / max_bars))
    n_bars = math.ceil(span / step)
    bins = [0] * n_bars
    for day, n in counts.items():
        bins[(day - first).days // step] += n
    peak = max(bins)
    bar_w = width / n_bars
    bars = []
    for i, n in enumerate(bins):
        if not n:
            continue
        h = max(1.0, height * n / peak)
        start = first + timedelta(days=i * step)
        end = min(last, start + timedelta(days=step - 1))
        when = start.isoformat() if step == 1 else f"{start.isoformat()} – {end.isoformat()}"
        bars.append(Bar(round(i * bar_w, 2), round(height - h, 2), round(max(bar_w - 1, 0.5), 2), round(h, 2), f"{when}: {n}"))
    return Chart(width, height, bars, first.isoformat(), last.isoformat(), peak, step, sum(bins))
