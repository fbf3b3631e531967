"""Charts as inline SVG drawn on the server: no chart library, no script, readable without JS and
by screen readers (a <title> and a <desc> with the totals); printed and screenshotted as seen."""
from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from markupsafe import Markup

#: colour-blind-safe palette (Okabe–Ito), dark enough against white for 3:1 non-text contrast
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56419A", "#8A6D00", "#B2182B", "#505050")

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 14, 34


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def hour_starts(now: datetime, hours: int = 24) -> list[datetime]:
    """The starts of the last ``hours`` clock hours, the current (partial) one last."""
    current = hour_of(now)
    return [current - timedelta(hours=hours - 1 - i) for i in range(hours)]


def hourly(counts: dict[str, dict[datetime, int]], starts: list[datetime]) -> dict[str, list[int]]:
    """Counts per series and hour start -> one value per bucket of ``starts``; series with
    nothing in the window dropped, the biggest first (legend and stacking order)."""
    series = {name: [by_hour.get(start, 0) for start in starts] for name, by_hour in counts.items()}
    series = {name: values for name, values in series.items() if any(values)}
    return dict(sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0])))


def stacked_bars(chart_id: str, title: str, starts: list[datetime], series: dict[str, list[int]],
                 labels: dict[str, str]) -> Markup:
    """A stacked bar chart, one bar per bucket; ``labels``: words for 'total', 'now' and
    'hours ago', 'none' in the page's language."""
    n = len(starts) or 1
    totals = [sum(values[i] for values in series.values()) for i in range(n)]
    top = max(totals + [1])
    scale = _nice(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar = max(slot * 0.75, 1.0)
    parts = [f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT + 20 * ((len(series) + 3) // 4)}" '
             f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
             f'<desc id="{escape(chart_id)}-desc">{escape(_describe(series, labels))}</desc>']
    for k in range(5):  # horizontal grid and the count scale
        value = scale * k / 4
        y = TOP + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'stroke="#c8c8c8" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#333">{_fmt(value)}</text>')
    for i in range(n):
        x = LEFT + slot * i + (slot - bar) / 2
        base = TOP + plot_h
        for s, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / scale
            base -= h
            parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(starts[i].strftime("%H:%M"))} '
                         f'{escape(name)}: {values[i]}</title></rect>')
    axis_y = TOP + plot_h
    parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="#333"/>')
    for i in range(0, n, max(n // 6, 1)):  # time ticks: UTC hours
        x = LEFT + slot * i + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="11" '
                     f'fill="#333">{escape(starts[i].strftime("%H:00"))}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{axis_y + 28}" text-anchor="end" font-size="11" '
                 f'fill="#333">UTC, {escape(labels["now"])} →</text>')
    for s, name in enumerate(series):  # legend, four per row
        col, row = s % 4, s // 4
        x, y = LEFT + col * 170, HEIGHT + 4 + row * 20
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 11}" font-size="12" fill="#222">'
                     f'{escape(_short(name))} ({sum(series[name])})</text>')
    if not series:
        parts.append(f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" '
                     f'font-size="14" fill="#333">{escape(labels["none"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(series: dict[str, list[int]], labels: dict[str, str]) -> str:
    if not series:
        return labels["none"]
    return "; ".join(f"{name}: {sum(values)} {labels['total']}" for name, values in series.items())


def _nice(top: int) -> float:
    """The smallest of 1, 2, 5 × 10^k at least ``top``: round grid lines."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= top:
                return float(step * magnitude)
        magnitude *= 10


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"
