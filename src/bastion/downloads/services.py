"""What the downloads app does for the rest of Bastion: import, roll up, rank and display.

The critical-project designation calls :func:`installer_downloads`; the project page calls
:func:`recent_downloads` and :func:`daily_series`. Everything is keyed by normalized name,
including names this index does not host, because PyPI's data names them too.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from django.core.cache import cache
from django.utils import timezone
from packaging.utils import canonicalize_name

from bastion.downloads import importer, queries, rollup, store
from bastion.downloads.models import RollupDay
from bastion.downloads.useragents import INSTALLER, INSTALLER_CLASSES

logger = logging.getLogger(__name__)

CHART_DAYS = 180
PROJECT_COUNTS_CACHE_SECONDS = 3600
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


def rebuild_rollup(*, every_day: bool = False) -> rollup.RollupReport:
    """Fold in the recorder's segments and every new import, rebuilding the affected days
    (or, with ``every_day``, all of them)."""
    with store.maintenance_lock():
        return rollup.rollup(every_day=every_day)


def import_rollup(path: Path) -> importer.ImportReport:
    """Load a rollup computed on BigQuery by :func:`bigquery_sql` and publish its days at once;
    its counts replace earlier BigQuery counts of the same (project, day, class)."""
    with store.maintenance_lock():
        report = importer.import_bigquery_rollup(Path(path))
        if not report.already_imported:
            rollup.rollup()
        return report


def bigquery_sql(since: date) -> str:
    """The standard-SQL query that computes the daily rollup over PyPI's public table."""
    return queries.rollup_query(queries.BIGQUERY, since)


def _rollup_relation(since: date, until: date) -> tuple[str, tuple[str, ...]] | None:
    """The published rollup files of the days in [since, until] as a DuckDB relation, and the
    paths themselves (which change whenever any of those days is rebuilt)."""
    paths = tuple(
        RollupDay.objects.filter(day__gte=since, day__lte=until)
        .order_by("day")
        .values_list("path", flat=True)
    )
    if not paths:
        return None
    globs = ", ".join(
        importer.sql_literal(store.url(store.location("rollup", path, "*.parquet")))
        for path in paths
    )
    relation = f"read_parquet([{globs}], hive_partitioning=true, hive_types={{'day': DATE}})"
    return relation, paths


def installer_downloads(since: date, until: date) -> dict[str, int]:
    """Installer-class downloads per normalized project name, both days included.

    Only real installs (pip, uv, poetry, …) count; mirrors, browsers and unknown agents are
    shown on project pages but never ranked.
    """
    return class_downloads(since, until, INSTALLER)


def class_downloads(since: date, until: date, installer_class: str) -> dict[str, int]:
    """One installer class's downloads per normalized project name, both days included."""
    found = _rollup_relation(since, until)
    if found is None:
        return {}
    relation, _paths = found
    return dict(
        store.reader()
        .execute(
            f"SELECT project, CAST(sum(downloads) AS BIGINT) FROM {relation} "  # noqa: S608
            "WHERE installer_class = ? GROUP BY project",
            [installer_class],
        )
        .fetchall()
    )


def _today() -> date:
    return timezone.now().date()


def _project_counts(project_name: str, first: date, last: date) -> dict[date, dict[str, int]]:
    """One project's downloads per day and installer class, cached until a day is rebuilt.

    A project page asks for 180 days of files; the rollup changes hourly at most, and the
    cache key holds the files' paths, so a rebuilt day is a different key.
    """
    found = _rollup_relation(first, last)
    if found is None:
        return {}
    relation, paths = found
    name = canonicalize_name(project_name)
    key = "downloads:" + hashlib.sha256("\n".join((name, *paths)).encode()).hexdigest()
    counts = cache.get(key)
    if counts is None:
        import duckdb  # loaded by store.reader() already; see bastion.downloads.store

        try:
            rows = (
                store.reader()
                .execute(
                    f"SELECT day, installer_class, CAST(sum(downloads) AS BIGINT) "  # noqa: S608
                    f"FROM {relation} WHERE project = ? GROUP BY ALL",
                    [name],
                )
                .fetchall()
            )
        except duckdb.IOException:
            # A page must not fail because statistics files went missing (a data directory
            # restored without them, say); the ranking, which must not guess, still raises.
            logger.exception("download rollup files unreadable; bastion downloads rollup --all")
            return {}
        counts = {}
        for day, installer_class, total in rows:
            counts.setdefault(day, {})[installer_class] = total
        cache.set(key, counts, PROJECT_COUNTS_CACHE_SECONDS)
    return counts


def recent_downloads(project_name: str, today: date | None = None) -> dict[str, int]:
    """Installer downloads over the last day, week and month (30 days), today included."""
    today = today or _today()
    # The chart's window, not 30 days: the project page then needs one query and one cache entry.
    per_day = _project_counts(project_name, today - timedelta(days=CHART_DAYS - 1), today)

    def window(days: int) -> int:
        return sum(
            classes.get(INSTALLER, 0)
            for day, classes in per_day.items()
            if day > today - timedelta(days=days)
        )

    return {"last_day": window(1), "last_week": window(7), "last_month": window(30)}


def daily_series(
    project_name: str, days: int = CHART_DAYS, today: date | None = None
) -> list[dict]:
    """One entry per day, oldest first, with the downloads of every installer class."""
    today = today or _today()
    first = today - timedelta(days=days - 1)
    per_day = _project_counts(project_name, first, today)
    return [
        {
            "date": day.isoformat(),
            **{name: per_day.get(day, {}).get(name, 0) for name in INSTALLER_CLASSES},
        }
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]
