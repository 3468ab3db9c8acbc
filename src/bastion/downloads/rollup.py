"""Daily rollups: DuckDB aggregates the event partitions, the database keeps the result.

Only days touched by a partition that is not rolled up yet are recomputed, and each of those days
is recomputed from every partition that holds it, so a rollup is always a full, exact rebuild of
the days it touches and running it twice changes nothing.
"""

from __future__ import annotations

import csv
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from pathlib import Path

from django.db import connection, transaction
from packaging.utils import canonicalize_name

from bastion.downloads import importer, queries, store
from bastion.downloads.models import DailyDownloads, EventPartition, RollupSource
from bastion.downloads.useragents import INSTALLER_CLASSES

INSERT_BATCH = 50_000
ROWS_PER_STATEMENT = 200  # 800 parameters, far below SQLite's limit of 32,766
SQLITE_CACHE_KIB = 512 * 1024  # pages of a bulk rollup stay in memory instead of churning the WAL
STALE_TEMPORARY_SECONDS = 600


@dataclass
class RollupReport:
    days: list[str] = field(default_factory=list)
    rows: int = 0
    partitions: int = 0
    compacted: list[importer.ImportReport] = field(default_factory=list)


def compact_segments() -> list[importer.ImportReport]:
    """Fold the recorder's segments into event partitions, then delete them.

    Segments are first moved (atomic renames) into a fresh batch directory, and the batch name
    keys the partition, so a crash at any step neither loses events nor counts them twice.
    """
    directory = store.segments_dir()
    if not directory.is_dir():
        return []
    _remove_stale_temporaries(directory)
    batches = sorted(path for path in directory.glob("batch-*") if path.is_dir())
    segments = sorted(directory.glob("*.jsonl"))
    if segments:
        batch = directory / f"batch-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        batch.mkdir()
        for segment in segments:
            segment.rename(batch / segment.name)
        batches.append(batch)
    reports = []
    for batch in batches:
        key = "recorded-" + batch.name.removeprefix("batch-")
        members = sorted(batch.glob("*.jsonl"))
        if members and not EventPartition.objects.filter(key=key).exists():
            reports.append(importer.import_segments(members, key))
        shutil.rmtree(batch)
    return reports


def _remove_stale_temporaries(directory: Path) -> None:
    """A temporary segment older than a few minutes belongs to a process that died mid-write."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for temporary in directory.glob(".*.tmp"):
        if temporary.stat().st_mtime < cutoff:
            temporary.unlink(missing_ok=True)


def rollup() -> RollupReport:
    """Rebuild every day that a new partition touches."""
    report = RollupReport(compacted=compact_segments())
    pending = list(EventPartition.objects.filter(rolled_up=False))
    days = sorted({day for partition in pending for day in partition.days})
    report.days = days
    if days:
        report.rows, report.partitions = _rebuild_days(set(days))
    EventPartition.objects.filter(pk__in=[p.pk for p in pending]).update(rolled_up=True)
    return report


def _rebuild_days(days: set[str]) -> tuple[int, int]:
    globs = [
        store.partition_day_glob(partition.key, day)
        for partition in EventPartition.objects.all()
        for day in partition.days
        if day in days
    ]
    partitions = len({glob.rsplit("/day=", 1)[0] for glob in globs})
    sql = (
        "SELECT project, CAST(day AS VARCHAR), installer_class, count(*) "  # noqa: S608
        f"FROM read_parquet([{', '.join(importer.sql_literal(g) for g in globs)}], "
        "hive_partitioning=true, hive_types={'day': DATE}) "
        "GROUP BY ALL ORDER BY ALL"
    )
    with store.connect() as con, transaction.atomic():
        DailyDownloads.objects.filter(source=RollupSource.EVENTS, day__in=sorted(days)).delete()
        written = _bulk_insert(con.execute(sql))
    return written, partitions


def _bulk_insert(result) -> int:
    """Stream (project, day, class, count) rows into the rollup table as fast as the database
    takes them: COPY on PostgreSQL, multi-row INSERTs with a large page cache on SQLite."""
    table = DailyDownloads._meta.db_table
    columns = "project_name, day, installer_class, source, count"
    source = RollupSource.EVENTS.value
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                while batch := result.fetchmany(INSERT_BATCH):
                    for project, day, installer_class, count in batch:
                        copy.write_row((project, day, installer_class, source, count))
                    written += len(batch)
            return written
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

        def insert(rows: int) -> str:
            values = ", ".join([f"(%s, %s, %s, '{source}', %s)"] * rows)
            return f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608

        while batch := result.fetchmany(INSERT_BATCH):
            _insert_many(cursor, insert, batch)
            written += len(batch)
    return written


def _insert_many(cursor, insert, batch: list[tuple]) -> None:
    """Insert ROWS_PER_STATEMENT rows per statement: SQLite reads and writes the AUTOINCREMENT
    counter once per statement, and per row that doubled the cost of the whole load."""
    flat = list(chain.from_iterable(batch))
    width = len(batch[0]) * ROWS_PER_STATEMENT
    whole = len(flat) - len(flat) % width
    if whole:
        statements = [flat[start : start + width] for start in range(0, whole, width)]
        cursor.executemany(insert(ROWS_PER_STATEMENT), statements)
    if whole < len(flat):
        cursor.execute(insert((len(flat) - whole) // len(batch[0])), flat[whole:])


@dataclass
class RollupImportReport:
    rows_read: int = 0
    rows_imported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    projects: int = 0
    days: list[str] = field(default_factory=list)


def import_rollup(path: Path) -> RollupImportReport:
    """Load the CSV result of ``bigquery-sql``; each (project, day, class) count is replaced.

    Replacing rather than adding makes a re-import (or an overlapping later export) idempotent,
    and BigQuery may split one result over several files without any count getting lost.
    """
    report = RollupImportReport()
    valid: dict[tuple[str, str, str], int] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(queries.ROLLUP_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise importer.ImportFailed(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line_number, row in enumerate(reader, start=2):
            report.rows_read += 1
            reason, parsed = _check_rollup_row(row)
            if reason:
                report.skipped[reason] = report.skipped.get(reason, 0) + 1
                examples = report.examples.setdefault(reason, [])
                if len(examples) < importer.EXAMPLES_PER_REASON:
                    examples.append(f"line {line_number}: {','.join(map(str, row.values()))}")
                continue
            key, count = parsed
            valid[key] = valid.get(key, 0) + count
    _upsert_bigquery_counts(valid)
    report.rows_imported = report.rows_read - sum(report.skipped.values())
    report.projects = len({project for project, _, _ in valid})
    report.days = sorted({day for _, day, _ in valid})
    return report


def _check_rollup_row(row: dict) -> tuple[str | None, tuple]:
    name = (row.get("project_name") or "").strip()
    if not name or not queries.PROJECT_NAME.fullmatch(name):
        return "invalid project name", ()
    try:
        day = date.fromisoformat((row.get("day") or "").strip()).isoformat()
    except ValueError:
        return "invalid day", ()
    installer_class = (row.get("installer_class") or "").strip()
    if installer_class not in INSTALLER_CLASSES:
        return "unknown installer class", ()
    try:
        count = int((row.get("downloads") or "").strip())
    except ValueError:
        return "invalid download count", ()
    if count < 0:
        return "invalid download count", ()
    return None, ((canonicalize_name(name), day, installer_class), count)


def _upsert_bigquery_counts(counts: dict[tuple[str, str, str], int]) -> None:
    table = DailyDownloads._meta.db_table
    upsert = (
        f"INSERT INTO {table} (project_name, day, installer_class, source, count) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (project_name, day, installer_class, source) "
        "DO UPDATE SET count = excluded.count"
    )
    rows = [(p, d, c, RollupSource.BIGQUERY, n) for (p, d, c), n in counts.items()]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            cursor.executemany(upsert, rows[start : start + INSERT_BATCH])
