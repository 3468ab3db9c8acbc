"""The 180-day download chart: bars as inline SVG, axes and legend as HTML around them.

No JavaScript, nothing for the CSP to block. Colours are SVG presentation attributes rather than
``style``, so a strict Content-Security-Policy without 'unsafe-inline' styles still renders them.
Each bar carries a <title>, which browsers show as a tooltip.

The plot stretches to its box (``preserveAspectRatio="none"``) while the axis labels and the
legend are ordinary text beside it: they keep their size on a phone instead of shrinking with
the drawing.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from bastion.downloads.useragents import INSTALLER

WIDTH = 720
PLOT_HEIGHT = 120
INSTALLER_FILL = "#2b6cb0"
OTHER_FILL = "#a3bfdc"
GRID_STROKE = "#c8ced8"


def axis_top(peak: int) -> int:
    """The y axis' top: ``peak`` rounded up to an even step of its order of magnitude.

    1139 gives 1200 (labels 0, 600, 1200), 180 stays 180, 5 gives 6: close above the highest
    bar, and its half is a whole number too, so the labels never show fractions.
    """
    step = max(2, 2 * 10 ** (len(str(max(peak, 1))) - 2))
    return max(step, -(-peak // step) * step)


def downloads_chart(series: list[dict]) -> dict:
    """What the template draws: bars, axis labels, totals; ``empty`` when there is nothing."""
    totals = [sum(v for k, v in entry.items() if k != "date") for entry in series]
    total = sum(totals)
    days = len(series)
    if not total:
        return {"empty": True, "days": days}
    top = axis_top(max(totals))
    middle = series[len(series) // 2]["date"]
    return {
        "empty": False,
        "days": days,
        "total": total,
        "peak": max(totals),
        "y_ticks": [top, top // 2, 0],
        "x_ticks": [series[0]["date"], middle, series[-1]["date"]],
        "svg": downloads_svg(series, top=top),
    }


def downloads_svg(series: list[dict], top: int | None = None) -> SafeString:
    """Stacked daily bars: installer downloads at the bottom, mirrors and the rest above them."""
    days = len(series) or 1
    slot = WIDTH / days
    totals = [sum(v for k, v in entry.items() if k != "date") for entry in series]
    top = top or axis_top(max(totals, default=0))
    label = (
        f"Daily downloads over the last {days} days: {sum(totals):,} in total, "
        f"at most {max(totals, default=0):,} on one day"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="downloads-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {PLOT_HEIGHT}" preserveAspectRatio="none" '
        f'aria-label="{escape(label)}">',
    ]
    for fraction in (0, 0.5, 1):  # grid lines at the three labelled values
        y = PLOT_HEIGHT * fraction
        parts.append(
            f'<line x1="0" y1="{y:g}" x2="{WIDTH}" y2="{y:g}" stroke="{GRID_STROKE}" '
            'stroke-width="1" vector-effect="non-scaling-stroke"/>'
        )
    for index, (entry, total) in enumerate(zip(series, totals, strict=True)):
        if not total:
            continue
        installs = entry.get(INSTALLER, 0)
        x = index * slot
        total_height = PLOT_HEIGHT * total / top
        install_height = PLOT_HEIGHT * installs / top
        title = escape(f"{entry['date']}: {installs:,} installs, {total - installs:,} other")
        parts.append(f"<g><title>{title}</title>")
        if total > installs:
            parts.append(
                f'<rect x="{x:.2f}" y="{PLOT_HEIGHT - total_height:.2f}" '
                f'width="{max(slot - 1, 1):.2f}" height="{total_height - install_height:.2f}" '
                f'fill="{OTHER_FILL}"/>'
            )
        if installs:
            parts.append(
                f'<rect x="{x:.2f}" y="{PLOT_HEIGHT - install_height:.2f}" '
                f'width="{max(slot - 1, 1):.2f}" height="{install_height:.2f}" '
                f'fill="{INSTALLER_FILL}"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
