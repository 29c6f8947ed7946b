"""Grouped bar charts as inline SVG: bars with their values, a y scale with round ticks, a legend.

Every value label carries ``data-metric`` (the caller's key), every other number ``data-tick`` or
``data-label``, so a test can tell the numbers of the catalog from the scale. All text is escaped.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2b6cb0", "#c05621", "#2f855a", "#b7791f", "#6b46c1", "#c53030", "#4a5568", "#0987a0")
MAX_LABEL = 18  # characters of a category or series label in a chart (the table below has the whole text)


@dataclass(frozen=True)
class Series:
    """One bar per category: ``values[i]`` for ``categories[i]``, with ``metrics[i]`` its data-metric key."""

    label: str
    values: tuple[int, ...]
    metrics: tuple[str, ...]


def attr(text: str) -> str:
    """``text`` for an attribute value between double quotes."""
    return escape(text, quote=True)


def clean(text: str) -> str:
    """``text`` without control and format characters (bidi overrides, zero-width…) for a chart label,
    shortened to :data:`MAX_LABEL` characters."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return kept if len(kept) <= MAX_LABEL else kept[: MAX_LABEL - 1] + "…"


def nice_max(value: int) -> tuple[int, int]:
    """A round top of scale at or above ``value`` and its tick step (at most 5 ticks above 0)."""
    if value <= 0:
        return 1, 1
    raw = value / 5
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    return step * math.ceil(value / step), step


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], *, chart_id: str) -> str:
    """A grouped vertical bar chart; an empty one (no category) says so."""
    bar_w, gap, left, top, plot_h, bottom = 18, 14, 100, 34, 220, 70
    n_bars = max(len(series), 1)
    group_w = n_bars * bar_w + gap
    width = max(left + group_w * len(categories) + 20, 640)
    per_row = max(1, (width - left) // 160)
    legend_h = 20 * math.ceil(len(series) / per_row) if series else 0
    height = top + plot_h + bottom + legend_h
    top_value = max((v for s in series for v in s.values), default=0)
    scale_max, step = nice_max(top_value)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{attr(chart_id)}" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-label="{attr(clean(title))}">',
           f'<title>{escape(title)}</title>']
    base = top + plot_h
    for tick in range(0, scale_max + 1, step):
        y = base - plot_h * tick / scale_max
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick" data-tick="">{tick}</text>')
    if not categories:
        out.append(f'<text x="{width / 2:.0f}" y="{top + plot_h / 2:.0f}" text-anchor="middle" class="empty" '
                   'data-label="">无数据 no data</text>')
    for ci, category in enumerate(categories):
        x0 = left + ci * group_w + gap / 2
        for si, s in enumerate(series):
            v = s.values[ci]
            h = plot_h * v / scale_max
            x = x0 + si * bar_w
            colour = PALETTE[si % len(PALETTE)]
            out.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w - 2}" height="{h:.1f}" fill="{colour}">'
                       f'<title>{escape(category)} · {escape(s.label)}: {v}</title></rect>')
            out.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" class="value" '
                       f'data-metric="{attr(s.metrics[ci])}">{v}</text>')
        cx = x0 + n_bars * bar_w / 2
        out.append(f'<text x="{cx:.1f}" y="{base + 14}" text-anchor="end" class="cat" data-label="" '
                   f'transform="rotate(-30 {cx:.1f} {base + 14})">{escape(clean(category))}</text>')
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" class="axis"/>')
    for si, s in enumerate(series):
        lx = left + (si % per_row) * 160
        ly = base + bottom + 20 * (si // per_row)
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{PALETTE[si % len(PALETTE)]}"/>'
                   f'<text x="{lx + 16}" y="{ly}" class="legend" data-label="">{escape(clean(s.label))}</text>')
    out.append("</svg>")
    return "".join(out)
