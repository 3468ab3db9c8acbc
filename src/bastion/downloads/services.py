"""What the downloads app does for the rest of Bastion: import, roll up, rank and display.

The critical-project designation calls :func:`installer_downloads`; the project page calls
:func:`recent_downloads` and :func:`daily_series`. Everything is keyed by normalized name,
including names this index does not host, because PyPI's data names them too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from django.db.models import Sum
from django.utils import timezone
from packaging.utils import canonicalize_name

from bastion.downloads import importer, queries, rollup, store
from bastion.downloads.models import DailyDownloads
from bastion.downloads.useragents import INSTALLER, INSTALLER_CLASSES

CHART_DAYS = 180
ImportFailed = importer.ImportFailed


def import_exports(
    paths: Iterable[Path], *, progress: bool = True
) -> list[importer.ImportReport | importer.ImportFailed]:
    """Import BigQuery exports one by one; a file that cannot be read does not stop the rest."""
    results: list[importer.ImportReport | importer.ImportFailed] = []
    with store.maintenance_lock():
        for path in paths:
            try:
                results.append(importer.import_export(Path(path), progress=progress))
            except importer.ImportFailed as failure:
                results.append(failure)
    return results


def rebuild_rollup() -> rollup.RollupReport:
    """Fold in the recorder's segments and every new import, rebuilding the affected days."""
    with store.maintenance_lock():
        return rollup.rollup()


def import_rollup(path: Path) -> rollup.RollupImportReport:
    """Load a rollup computed on BigQuery by :func:`bigquery_sql`."""
    with store.maintenance_lock():
        return rollup.import_rollup(Path(path))


def bigquery_sql(since: date) -> str:
    """The standard-SQL query that computes the daily rollup over PyPI's public table."""
    return queries.rollup_query(queries.BIGQUERY, since)


def installer_downloads(since: date, until: date) -> dict[str, int]:
    """Installer-class downloads per normalized project name, both days included.

    Only real installs (pip, uv, poetry, …) count; mirrors, browsers and unknown agents are
    shown on project pages but never ranked.
    """
    rows = (
        DailyDownloads.objects.filter(installer_class=INSTALLER, day__gte=since, day__lte=until)
        .order_by()
        .values_list("project_name")
        .annotate(total=Sum("count"))
    )
    return dict(rows.iterator(chunk_size=20_000))


def _today() -> date:
    return timezone.now().date()


def recent_downloads(project_name: str, today: date | None = None) -> dict[str, int]:
    """Installer downloads over the last day, week and month (30 days), today included."""
    today = today or _today()
    per_day = dict(
        DailyDownloads.objects.filter(
            project_name=canonicalize_name(project_name),
            installer_class=INSTALLER,
            day__gt=today - timedelta(days=30),
            day__lte=today,
        )
        .order_by()
        .values_list("day")
        .annotate(total=Sum("count"))
    )

    def window(days: int) -> int:
        return sum(n for day, n in per_day.items() if day > today - timedelta(days=days))

    return {"last_day": window(1), "last_week": window(7), "last_month": window(30)}


def daily_series(
    project_name: str, days: int = CHART_DAYS, today: date | None = None
) -> list[dict]:
    """One entry per day, oldest first, with the downloads of every installer class."""
    today = today or _today()
    first = today - timedelta(days=days - 1)
    counts: dict[date, dict[str, int]] = {
        first + timedelta(days=offset): dict.fromkeys(INSTALLER_CLASSES, 0)
        for offset in range(days)
    }
    rows = (
        DailyDownloads.objects.filter(
            project_name=canonicalize_name(project_name), day__gte=first, day__lte=today
        )
        .order_by()
        .values_list("day", "installer_class")
        .annotate(total=Sum("count"))
    )
    for day, installer_class, total in rows:
        if installer_class in counts[day]:
            counts[day][installer_class] += total
    return [{"date": day.isoformat(), **classes} for day, classes in counts.items()]
