"""Daily rollups: DuckDB sums the partitions of each day into one file sorted by project.

Only days touched by a partition that is not rolled up yet are recomputed, and each of those days
is recomputed from every partition that holds it, so a rollup is always a full, exact rebuild of
the days it touches and running it twice changes nothing.

Each run writes a new *generation* directory and then points the rebuilt days at it in one
database transaction (``RollupDay``); readers list a day's file from the database, so they see
the old counts or the new ones, never a file being written. Files are sorted by project in small
row groups, so one project's 180 days are found from the row groups' min/max statistics.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction

from bastion.downloads import importer, store
from bastion.downloads.models import EventPartition, PartitionKind, RollupDay

if TYPE_CHECKING:
    import fsspec  # only its type: see bastion.downloads.store

STALE_TEMPORARY_SECONDS = 600
SUPERSEDED_GRACE_SECONDS = 600
GENERATION_PREFIX = "gen-"


@dataclass
class RollupReport:
    days: list[str] = field(default_factory=list)
    rows: int = 0
    partitions: int = 0
    compacted: list[importer.ImportReport] = field(default_factory=list)


def compact_segments() -> list[importer.ImportReport]:
    """Fold the recorder's segments, every server's, into event partitions, then delete them.

    Segments are first moved into a fresh batch directory, and the batch name keys the
    partition, so a crash at any step neither loses events nor counts them twice. On disk a move
    is an atomic rename; in a bucket it is a copy and a delete, so a crash between the two leaves
    a segment both in a batch and outside: segment names are unique, and the one in the batch
    is the one that counts.
    """
    fs = store.filesystem()
    directory = store.location("segments")
    if not fs.isdir(directory):
        return []
    _remove_stale_temporaries(fs, directory)
    reports = []
    for batch, members in _batches(fs, directory).items():
        key = "recorded-" + _basename(batch).removeprefix("batch-")
        if members and not EventPartition.objects.filter(key=key).exists():
            reports.append(importer.import_segments(members, key))
        store.remove_tree(batch)
    return reports


def _batches(fs: fsspec.AbstractFileSystem, directory: str) -> dict[str, list[str]]:
    """Every batch a crash left and a new one of the segments outside them: each with its
    segments. A segment outside that is also in a batch was copied there: it goes."""
    entries = fs.ls(directory, detail=True)
    batches = {
        entry["name"]: _segments_in(fs, entry["name"])
        for entry in sorted(entries, key=lambda entry: entry["name"])
        if entry["type"] == "directory" and _basename(entry["name"]).startswith("batch-")
    }
    batched = {_basename(path) for members in batches.values() for path in members}
    segments = sorted(
        entry["name"]
        for entry in entries
        if entry["type"] == "file" and entry["name"].endswith(".jsonl")
    )
    if copied := [path for path in segments if _basename(path) in batched]:
        fs.rm(copied)
    if fresh := [path for path in segments if _basename(path) not in batched]:
        batch = f"{directory}/batch-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        fs.mkdir(batch)
        batches[batch] = [f"{batch}/{_basename(path)}" for path in fresh]
        for path, moved in zip(fresh, batches[batch], strict=True):
            fs.mv(path, moved)
    return batches


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _segments_in(fs: fsspec.AbstractFileSystem, batch: str) -> list[str]:
    return sorted(path for path in fs.ls(batch, detail=False) if path.endswith(".jsonl"))


def _remove_stale_temporaries(fs: fsspec.AbstractFileSystem, directory: str) -> None:
    """A temporary segment older than a few minutes belongs to a process that died mid-write
    (on disk only: a bucket has no temporaries)."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for temporary in fs.glob(f"{directory}/.*.tmp"):
        if fs.modified(temporary).timestamp() < cutoff:
            fs.rm(temporary)


def rollup(*, every_day: bool = False) -> RollupReport:
    """Rebuild every day that a new partition touches, or with ``every_day`` every day any
    partition holds (the repair after rollup files were lost)."""
    report = RollupReport(compacted=compact_segments())
    pending = list(EventPartition.objects.filter(rolled_up=False))
    sources = EventPartition.objects.all() if every_day else pending
    days = sorted({day for partition in sources for day in partition.days})
    report.days = days
    if days:
        report.rows, report.partitions = _rebuild_days(set(days))
    EventPartition.objects.filter(pk__in=[p.pk for p in pending]).update(rolled_up=True)
    _remove_superseded_generations()
    return report


def _sources_by_day(days: set[str]) -> dict[str, list[EventPartition]]:
    """The partitions each day is computed from.

    A BigQuery rollup of a day already counts every PyPI download of it, so on such a day raw
    exports are left out, or PyPI's downloads would be counted twice; Bastion's own recorded
    downloads always count.
    """
    by_day: dict[str, list[EventPartition]] = {day: [] for day in days}
    for partition in EventPartition.objects.order_by("pk"):
        for day in days.intersection(partition.days):
            by_day[day].append(partition)
    for day, partitions in by_day.items():
        if any(p.kind == PartitionKind.BIGQUERY for p in partitions):
            by_day[day] = [p for p in partitions if p.kind != PartitionKind.EXPORT]
    return by_day


def _parquet(globs: list[str]) -> str:
    """Partition files, old and new: before counting moved into the import, a partition held
    one row per event and no ``downloads`` column."""
    return (
        f"SELECT day, project, installer_class, COALESCE(downloads, 1) AS downloads "  # noqa: S608
        f"FROM read_parquet([{', '.join(importer.sql_literal(g) for g in globs)}], "
        "hive_partitioning=true, hive_types={'day': DATE}, union_by_name=true)"
    )


def _day_counts_sql(by_day: dict[str, list[EventPartition]]) -> str:
    """Events and recorded downloads add up; for BigQuery rollups the latest import of a
    (project, day, class) replaces earlier ones, so re-exporting a window never double counts."""
    added: list[str] = []
    replaced: dict[int, list[str]] = {}
    for day, partitions in by_day.items():
        for partition in partitions:
            glob = store.partition_day_glob(partition.key, day)
            if partition.kind == PartitionKind.BIGQUERY:
                replaced.setdefault(partition.pk, []).append(glob)
            else:
                added.append(glob)
    if len(replaced) == 1:  # nothing to replace: one import's counts simply add up
        added += replaced.popitem()[1]
    parts = [_parquet(added)] if added else []
    if replaced:
        latest = " UNION ALL ".join(
            f"SELECT *, {pk} AS seq FROM ({_parquet(globs)})"  # noqa: S608 - pk is an int
            for pk, globs in replaced.items()
        )
        parts.append(
            "SELECT day, project, installer_class, arg_max(downloads, seq) AS downloads "  # noqa: S608
            "FROM (SELECT day, project, installer_class, seq, sum(downloads) AS downloads "
            f"FROM ({latest}) GROUP BY ALL) GROUP BY day, project, installer_class"
        )
    return (
        "SELECT day, project, installer_class, CAST(sum(downloads) AS BIGINT) AS downloads "  # noqa: S608
        f"FROM ({' UNION ALL '.join(parts)}) GROUP BY ALL ORDER BY day, project"
    )


def _published_as_written(
    by_day: dict[str, list[EventPartition]],
) -> dict[str, tuple[EventPartition, list[int]]]:
    """The days whose only source is a partition written in rollup order, with the day's
    [rows, downloads]: its day file already is the day's rollup, so it is published as it is
    instead of being summed and sorted again."""
    found = {}
    for day, sources in by_day.items():
        totals = (sources[0].day_totals or {}) if len(sources) == 1 else {}
        if day in totals:
            found[day] = (sources[0], totals[day])
    return found


def _rebuild_days(days: set[str]) -> tuple[int, int]:
    """Write the days into a new rollup generation, then publish it in one transaction."""
    by_day = _sources_by_day(days)
    partitions = len({p.pk for sources in by_day.values() for p in sources})
    as_written = _published_as_written(by_day)
    summed = {day: sources for day, sources in by_day.items() if day not in as_written}
    generation = f"{GENERATION_PREFIX}{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    local = store.rollup_dir() / generation  # where DuckDB writes; on disk, also where it stays
    local.parent.mkdir(parents=True, exist_ok=True)
    written: list[tuple[date, int, int]] = []
    if any(summed.values()):
        with store.connect() as con:
            con.execute(
                f"COPY ({_day_counts_sql(summed)}) TO {importer.sql_literal(str(local))} "
                f"(FORMAT parquet, PARTITION_BY (day), WRITE_PARTITION_COLUMNS false, "
                f"ROW_GROUP_SIZE {store.ROLLUP_ROW_GROUP})"
            )
            written = con.execute(
                "SELECT day, count(*), sum(downloads) FROM read_parquet("  # noqa: S608
                f"{importer.sql_literal(str(local / '*' / '*.parquet'))}, "
                "hive_partitioning=true, hive_types={'day': DATE}) GROUP BY day"
            ).fetchall()
        store.publish_directory(local, store.location("rollup", generation))
    for day, (partition, (rows, downloads)) in sorted(as_written.items()):
        store.link_files(
            store.location("events", partition.key, f"day={day}"),
            store.location("rollup", generation, f"day={day}"),
        )
        written.append((date.fromisoformat(day), rows, downloads))
    with transaction.atomic():
        RollupDay.objects.filter(day__in=sorted(days)).delete()
        RollupDay.objects.bulk_create(
            RollupDay(
                day=day, path=f"{generation}/day={day.isoformat()}", rows=rows, downloads=total
            )
            for day, rows, total in written
        )
    return sum(rows for _, rows, _ in written), partitions


def _remove_superseded_generations() -> None:
    """Delete rollup generations no day points to any more, once no reader can still be using
    them: a reader lists a day's path and opens it a moment later, never minutes later. A
    generation's age is the time in its name (a bucket's prefixes have no time of their own)."""
    fs = store.filesystem()
    directory = store.location("rollup")
    if not fs.isdir(directory):
        return
    current = {path.split("/", 1)[0] for path in RollupDay.objects.values_list("path", flat=True)}
    cutoff = time.time() - SUPERSEDED_GRACE_SECONDS
    for generation in fs.ls(directory, detail=False):
        name = _basename(generation)
        if name.startswith(GENERATION_PREFIX) and name not in current:
            created_ns = int(name.removeprefix(GENERATION_PREFIX).split("-", 1)[0])
            if created_ns / 1e9 < cutoff:
                store.remove_tree(generation)
