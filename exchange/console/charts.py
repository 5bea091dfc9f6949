"""SVG charts drawn on the server: accesses per hour per department, and the share of denials per hour."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from exchange import localtime

# Colour-blind-safe palette (Okabe-Ito); departments beyond it cycle.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT, LEFT, RIGHT, BOTTOM, TOP = 720, 220, 44, 34, 28, 12


@dataclass(frozen=True)
class HourCount:
    """Entries in one hour (start, microseconds) by one department, split by decision."""

    hour_us: int
    department: str
    allowed: int
    denied: int


HOUR_US = 3_600_000_000


def hours_between(from_us: int, until_us: int) -> list[int]:
    """The start of every hour in [from_us, until_us): the chart's x axis, empty hours included."""
    first = from_us - from_us % HOUR_US
    return list(range(first, max(until_us, first + 1), HOUR_US))


def _label(hour_us: int) -> str:
    return localtime.local(hour_us).strftime("%m-%d %H:%M")


def _frame(title: str, body: list[str], x_labels: list[tuple[float, str]], y_max: str) -> str:
    plot_h = HEIGHT - BOTTOM - TOP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#555"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#555"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end" font-size="10">{escape(y_max)}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="10">0</text>',
        *body,
    ]
    for x, text in x_labels:
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="10">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _x_labels(hours: Sequence[int], step: float) -> list[tuple[float, str]]:
    every = max(1, len(hours) // 8)
    return [(LEFT + step * (i + 0.5), _label(h)) for i, h in enumerate(hours) if i % every == 0]


def accesses_per_hour(
    counts: Sequence[HourCount], hours: Sequence[int], title: str
) -> tuple[str, list[tuple[str, str]]]:
    """Stacked bars per hour, one colour per department; returns the SVG and the legend (name, colour)."""
    departments = sorted({c.department for c in counts})
    colour = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(departments)}
    totals: dict[int, dict[str, int]] = {h: {} for h in hours}
    for c in counts:
        if c.hour_us not in totals:
            continue
        totals[c.hour_us][c.department] = totals[c.hour_us].get(c.department, 0) + c.allowed + c.denied
    peak = max((sum(v.values()) for v in totals.values()), default=0) or 1
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - RIGHT) / max(len(hours), 1)
    body = []
    for i, hour in enumerate(hours):
        y = float(TOP + plot_h)
        for dept in departments:
            n = totals[hour].get(dept, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            body.append(
                f'<rect x="{LEFT + step * i + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour[dept]}"><title>{escape(dept)} {_label(hour)}: {n}</title></rect>'
            )
    return _frame(title, body, _x_labels(hours, step), str(peak)), [(d, colour[d]) for d in departments]


def denial_share(counts: Sequence[HourCount], hours: Sequence[int], title: str) -> str:
    """A line of the share of denied entries per hour (0-100 %); hours without entries are left out."""
    allowed: dict[int, int] = dict.fromkeys(hours, 0)
    denied: dict[int, int] = dict.fromkeys(hours, 0)
    for c in counts:
        if c.hour_us not in allowed:
            continue
        allowed[c.hour_us] += c.allowed
        denied[c.hour_us] += c.denied
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - RIGHT) / max(len(hours), 1)
    points = []
    for i, hour in enumerate(hours):
        total = allowed[hour] + denied[hour]
        if not total:
            continue
        share = denied[hour] / total
        points.append((LEFT + step * (i + 0.5), TOP + plot_h * (1 - share), share, hour))
    body = []
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="#D55E00" stroke-width="2"/>')
        for x, y, share, hour in points:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#D55E00">'
                f"<title>{_label(hour)}: {share:.0%}</title></circle>"
            )
    return _frame(title, body, _x_labels(hours, step), "100%")


def bars(values: Sequence[tuple[str, float]], title: str, *, percent: bool = False, colour: str = PALETTE[0]) -> str:
    """One bar per labelled value (a department, a service item); ``percent`` for shares between 0 and 1."""
    peak = 1.0 if percent else max((v for _, v in values), default=0) or 1
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    body = []
    for i, (label, value) in enumerate(values):
        h = plot_h * value / peak
        shown = f"{value:.0%}" if percent else f"{value:g}"
        body.append(
            f'<rect x="{LEFT + step * i + 4:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(step - 8, 1):.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: {shown}</title></rect>'
        )
    labels = [(LEFT + step * (i + 0.5), label) for i, (label, _) in enumerate(values)]
    return _frame(title, body, labels, "100%" if percent else f"{peak:g}")


def warning_bars(values: Sequence[tuple[str, int, int]], title: str) -> str:
    """Yellow and red warnings side by side per department (红黄牌)."""
    peak = max((max(y, r) for _, y, r in values), default=0) or 1
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    body = []
    for i, (label, yellow, red) in enumerate(values):
        half = max(step / 2 - 4, 1)
        for j, (n, fill) in enumerate(((yellow, "#E69F00"), (red, "#D55E00"))):
            h = plot_h * n / peak
            body.append(
                f'<rect x="{LEFT + step * i + 4 + j * half:.1f}" y="{TOP + plot_h - h:.1f}" width="{half:.1f}" '
                f'height="{h:.1f}" fill="{fill}"><title>{escape(label)}: {n}</title></rect>'
            )
    labels = [(LEFT + step * (i + 0.5), label) for i, (label, _, _) in enumerate(values)]
    return _frame(title, body, labels, str(peak))
