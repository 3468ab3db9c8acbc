"""The adoption history as an SVG line chart, drawn on the server: /stats/ needs no JavaScript.

The markup is built from numbers and ISO dates only, never from user input, so it is safe to
embed as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.critical.models import StatsSnapshot

WIDTH, HEIGHT = 640, 240
AXIS = 'font-size="11" fill="#555"'
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40

#: (key in the snapshot, legend, colour). Colours are SVG presentation attributes, which the
#: strict Content-Security-Policy allows (it forbids inline style, not these).
SERIES = [
    ("critical_accounts_2fa_share", "critical accounts with 2FA", "#b3261e"),
    ("other_accounts_2fa_share", "other accounts with 2FA (voluntary)", "#1f5fa8"),
]


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span / 2)


def _y(share: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - max(0.0, min(1.0, share)))


def adoption_chart(snapshots: Sequence[StatsSnapshot]) -> str:
    """Shares of accounts with 2FA per day, critical and others, from 0 to 100%."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">Share of accounts with two-factor authentication, by day</title>',
    ]
    for percent in (0, 25, 50, 75, 100):
        y = _y(percent / 100)
        parts.append(
            f'<line stroke="#ddd" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
            f'<text {AXIS} x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{percent}%</text>'
        )
    count = len(snapshots)
    for key, _, colour in SERIES:
        points = [
            (_x(i, count), _y(float(snap.numbers.get(key, 0.0))))
            for i, snap in enumerate(snapshots)
        ]
        if len(points) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
            )
        for x, y in points:
            parts.append(f'<circle fill="{colour}" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
    if snapshots:
        first, last = snapshots[0].day.isoformat(), snapshots[-1].day.isoformat()
        base = HEIGHT - BOTTOM + 16
        parts.append(f'<text {AXIS} x="{LEFT}" y="{base}">{first}</text>')
        if count > 1:
            end = WIDTH - RIGHT
            parts.append(f'<text {AXIS} x="{end}" y="{base}" text-anchor="end">{last}</text>')
    for row, (_, legend, colour) in enumerate(SERIES):
        x, y = LEFT + row * 260, HEIGHT - 6
        parts.append(
            f'<rect fill="{colour}" x="{x}" y="{y - 9}" width="10" height="10"/>'
            f'<text font-size="12" x="{x + 14}" y="{y}">{legend}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
