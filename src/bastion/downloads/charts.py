"""The 180-day download chart as inline SVG: no JavaScript, nothing for the CSP to block.

Colours are SVG presentation attributes rather than ``style``, so a strict Content-Security-Policy
without 'unsafe-inline' styles still renders them. Each bar carries a <title>, which browsers show
as a tooltip.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from bastion.downloads.useragents import INSTALLER

WIDTH = 720
PLOT_HEIGHT = 120
TOP = 14
BOTTOM = 16
INSTALLER_FILL = "#2b6cb0"
OTHER_FILL = "#a3bfdc"


def downloads_svg(series: list[dict]) -> SafeString:
    """Stacked daily bars: installer downloads at the bottom, mirrors and the rest above them."""
    days = len(series) or 1
    slot = WIDTH / days
    totals = [sum(v for k, v in entry.items() if k != "date") for entry in series]
    peak = max(totals, default=0) or 1
    height = TOP + PLOT_HEIGHT + BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="downloads-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-label="Daily downloads over the last {days} days">',
        f'<text x="0" y="10" font-size="10" fill="#555">{peak:,} per day at most</text>',
        f'<line x1="0" y1="{TOP + PLOT_HEIGHT}" x2="{WIDTH}" y2="{TOP + PLOT_HEIGHT}" '
        'stroke="#999" stroke-width="1"/>',
    ]
    for index, (entry, total) in enumerate(zip(series, totals, strict=True)):
        if not total:
            continue
        installs = entry.get(INSTALLER, 0)
        x = index * slot
        total_height = PLOT_HEIGHT * total / peak
        install_height = PLOT_HEIGHT * installs / peak
        base = TOP + PLOT_HEIGHT
        title = escape(f"{entry['date']}: {installs:,} installs, {total - installs:,} other")
        parts.append(f"<g><title>{title}</title>")
        if total > installs:
            parts.append(
                f'<rect x="{x:.2f}" y="{base - total_height:.2f}" width="{max(slot - 1, 1):.2f}" '
                f'height="{total_height - install_height:.2f}" fill="{OTHER_FILL}"/>'
            )
        if installs:
            parts.append(
                f'<rect x="{x:.2f}" y="{base - install_height:.2f}" '
                f'width="{max(slot - 1, 1):.2f}" height="{install_height:.2f}" '
                f'fill="{INSTALLER_FILL}"/>'
            )
        parts.append("</g>")
    if series:
        parts.append(
            f'<text x="0" y="{height - 3}" font-size="10" fill="#555">'
            f"{escape(series[0]['date'])}</text>"
            f'<text x="{WIDTH}" y="{height - 3}" font-size="10" fill="#555" text-anchor="end">'
            f"{escape(series[-1]['date'])}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
