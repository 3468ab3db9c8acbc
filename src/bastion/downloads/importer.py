"""Import download events: BigQuery ``file_downloads`` exports and the recorder's own segments.

Every source is read by DuckDB into one shape, checked row by row, counted per (day, project,
installer class), and written once as an immutable, day-partitioned Parquet *event partition*.
Counting while importing is what makes the import and rollup of 50 million events fit in well
under a minute: the partition of a 50 M-row export holds its 16 M distinct counts, not 50 M rows,
and nothing ever needed the individual events back.

Bad rows never abort an import. They get a reason and are kept, one row per distinct bad row, in
the partition's ``day=__HIVE_DEFAULT_PARTITION__`` directory: there ``project`` holds the row as
read and ``installer_class`` the reason, so the one aggregation that counts good rows also
collects the bad ones (a separate column for them cost a fifth of the import's time).

Idempotency: a partition is keyed by the SHA-256 of the file's (decompressed) content, so the
same export imported twice, renamed, or gzipped is recognised and counts once. Row-level
de-duplication would be wrong here: PyPI's timestamps have one-second resolution, and identical
rows (a CI fleet fetching the same wheel in the same second) are genuine separate downloads.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from bastion.downloads import queries, store
from bastion.downloads.models import EventPartition, PartitionKind
from bastion.downloads.useragents import INSTALLER_CLASSES, UPSTREAM, UPSTREAM_SOURCE

if TYPE_CHECKING:
    import duckdb  # imported where an import runs: see bastion.downloads.store

SKIP_MALFORMED = "malformed row"
SKIP_TIMESTAMP = "missing or invalid timestamp"
SKIP_NO_PROJECT = "missing project name"
SKIP_BAD_PROJECT = "invalid project name"
SKIP_BAD_DAY = "invalid day"
SKIP_BAD_CLASS = "unknown installer class"
SKIP_BAD_COUNT = "invalid download count"
EXAMPLES_PER_REASON = 3

# Each column of the event shape, and where a BigQuery export keeps it.
FIELDS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp",),
    "project": ("project",),
    "file_project": ("file", "project"),
    "filename": ("file", "filename"),
    "version": ("file", "version"),
    "packagetype": ("file", "type"),
    "installer_name": ("details", "installer", "name"),
    "installer_version": ("details", "installer", "version"),
    "ci": ("details", "ci"),
    "source": ("details", "bastion_source"),  # Bastion's own: served from the upstream cache
}


class ImportFailed(Exception):
    """The file as a whole cannot be read (not a single row of it was imported)."""


@dataclass
class ImportReport:
    source: str
    key: str
    already_imported: bool = False
    rows_imported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    projects: int = 0
    days: list[str] = field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def rows_read(self) -> int:
        return self.rows_imported + self.rows_skipped


def import_export(path: Path, *, progress: bool = True) -> ImportReport:
    """Import one BigQuery ``file_downloads`` export (JSON lines, CSV or Parquet; gzip is fine)."""
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise ImportFailed(f"{path}: no such file")
    file_format, gzipped = detect_format(path)
    key = "import-" + content_hash(path, gzipped=gzipped, progress=progress)
    if (existing := _already_imported(path, key)) is not None:
        return existing
    with store.connect() as con:
        try:
            source_sql = _source_sql(con, [path], file_format, gzipped=gzipped)
        except duckdb.Error as error:
            raise ImportFailed(f"{path}: cannot read as {file_format}: {error}") from error
        return write_partition(
            con,
            key,
            PartitionKind.EXPORT,
            str(path),
            _counts_sql(source_sql),
            rejected_sql=_rejected_rows_sql(source_sql, file_format),
            progress=progress,
        )


def import_segments(paths: list[str], key: str) -> ImportReport:
    """Turn the recorder's JSON-lines segments (the export format), given as
    :func:`store.location` paths, into one event partition."""
    with store.connect() as con:
        urls = [store.url(path) for path in paths]
        source_sql = _json_lines_sql(urls, gzipped=False)
        return write_partition(
            con,
            key,
            PartitionKind.RECORDED,
            "recorder",
            _counts_sql(source_sql),
            rejected_sql=_rejected_rows_sql(source_sql, "jsonl"),
            progress=False,
        )


def import_bigquery_rollup(path: Path) -> ImportReport:
    """Import the CSV result of the ``bigquery-sql`` query as a partition of ready-made counts."""
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise ImportFailed(f"{path}: no such file")
    _file_format, gzipped = detect_format(path)
    key = "bigquery-" + content_hash(path, gzipped=gzipped, progress=False)
    if (existing := _already_imported(path, key)) is not None:
        return existing
    with store.connect() as con:
        relation = (
            f"read_csv({_file_list([path])}, header=true, all_varchar=true, ignore_errors=true, "
            f"store_rejects=true, compression={_compression(gzipped)})"
        )
        try:
            columns = {column_path[0] for column_path in _columns_of(con, relation)}
        except duckdb.Error as error:
            raise ImportFailed(f"{path}: cannot read as CSV: {error}") from error
        missing = set(queries.ROLLUP_COLUMNS) - columns
        if missing:
            raise ImportFailed(f"{path}: missing columns {', '.join(sorted(missing))}")
        return write_partition(
            con, key, PartitionKind.BIGQUERY, str(path), _rollup_rows_sql(relation), progress=False
        )


def _already_imported(path: Path, key: str) -> ImportReport | None:
    existing = EventPartition.objects.filter(key=key).first()
    if existing is None:
        return None
    return ImportReport(source=str(path), key=key, already_imported=True, days=existing.days)


def detect_format(path: Path) -> tuple[str, bool]:
    """Sniff the content, not the name: returns (``parquet``|``jsonl``|``csv``, gzipped)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    gzipped = head[:2] == b"\x1f\x8b"
    if gzipped:
        with gzip.open(path, "rb") as handle:
            try:
                head = handle.read(4096)
            except (OSError, EOFError) as error:
                raise ImportFailed(f"{path}: broken gzip stream ({error})") from error
    if head.startswith(b"PAR1"):
        if gzipped:
            raise ImportFailed(f"{path}: gzipped Parquet is not supported (Parquet compresses)")
        return "parquet", False
    return ("jsonl" if head.lstrip()[:1] == b"{" else "csv"), gzipped


def content_hash(path: Path, *, gzipped: bool, progress: bool) -> str:
    """SHA-256 of what the file says, so gzipping or renaming an export does not change it."""
    digest = hashlib.sha256()
    opener = gzip.open if gzipped else open
    with (
        opener(path, "rb") as handle,
        tqdm(
            total=path.stat().st_size if not gzipped else None,
            unit="B",
            unit_scale=True,
            desc=f"hashing {path.name}",
            disable=None if progress else True,
            leave=False,
        ) as bar,
    ):
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_list(paths: list[Path] | list[str]) -> str:
    return "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"


def _compression(gzipped: bool) -> str:
    """Say so explicitly: DuckDB guesses compression from the name, and names can lie."""
    return "'gzip'" if gzipped else "'none'"


def _json_lines_sql(paths: list[Path] | list[str], *, gzipped: bool) -> str:
    """One VARCHAR per line (no CSV parsing: \\x1f never appears raw in valid JSON), then JSON."""
    columns = ",\n".join(
        f"  j->>{sql_literal('$.' + '.'.join(path))} AS r_{name}" for name, path in FIELDS.items()
    )
    return f"""
SELECT line AS r_line, j IS NULL AS malformed,
{columns}
FROM (
  SELECT line,
    CASE WHEN json_valid(line) THEN
      CASE WHEN json_type(line) = 'OBJECT' THEN CAST(line AS JSON) END
    END AS j
  FROM read_csv({_file_list(paths)}, columns={{'line': 'VARCHAR'}}, delim='\\x1f', quote='',
                escape='', header=false, auto_detect=false, max_line_size=16777216,
                ignore_errors=true, store_rejects=true, compression={_compression(gzipped)})
)"""  # noqa: S608


def _columns_of(con: duckdb.DuckDBPyConnection, relation_sql: str) -> dict[tuple[str, ...], str]:
    """Every column path of a relation, nested STRUCT fields included, as SQL expressions."""
    relation = con.sql(f"SELECT * FROM {relation_sql} LIMIT 0")  # noqa: S608
    found: dict[tuple[str, ...], str] = {}

    def walk(path: tuple[str, ...], sql: str, kind) -> None:
        found[path] = sql
        if kind.id == "struct":
            for child, child_kind in kind.children:
                walk((*path, child), f'{sql}."{child}"', child_kind)

    for name, kind in zip(relation.columns, relation.types, strict=True):
        walk((name,), f'"{name}"', kind)
    return found


def _resolve(columns: dict[tuple[str, ...], str], path: tuple[str, ...]) -> str:
    """A nested field; its flattened spelling, with or without the record's name
    (``details.installer.name``, ``details_installer_name``, ``installer_name``: BigQuery cannot
    export records to CSV, so such files come from a query that selects the fields, and tools
    such as pypinfo alias them that way); a field of a record kept as JSON text; or NULL."""
    spellings = [path, (".".join(path),), ("_".join(path),)]
    if len(path) > 1:
        spellings += [(".".join(path[1:]),), ("_".join(path[1:]),)]
    for candidate in spellings:
        if candidate in columns:
            return columns[candidate]
    for depth in range(len(path) - 1, 0, -1):
        record = path[:depth]
        if record in columns and not any(c[:depth] == record and len(c) > depth for c in columns):
            text = f"CAST({columns[record]} AS VARCHAR)"
            inner = sql_literal("$." + ".".join(path[depth:]))
            return f"CASE WHEN json_valid({text}) THEN json_extract_string({text}, {inner}) END"
    return "NULL"


def _tabular_sql(
    con: duckdb.DuckDBPyConnection, paths: list[Path], file_format: str, *, gzipped: bool
) -> str:
    if file_format == "parquet":
        relation = f"read_parquet({_file_list(paths)})"
    else:
        relation = (
            f"read_csv({_file_list(paths)}, header=true, all_varchar=true, "
            f"ignore_errors=true, store_rejects=true, compression={_compression(gzipped)})"
        )
    columns = _columns_of(con, relation)
    resolved = {name: _resolve(columns, path) for name, path in FIELDS.items()}
    if resolved["timestamp"] == "NULL":
        raise ImportFailed(f"{paths[0]}: no 'timestamp' column; is this a file_downloads export?")
    selected = ",\n".join(f"  {sql} AS r_{name}" for name, sql in resolved.items())
    return f"""
SELECT false AS malformed,
{selected}
FROM {relation}"""  # noqa: S608


def _source_sql(
    con: duckdb.DuckDBPyConnection, paths: list[Path], file_format: str, *, gzipped: bool
) -> str:
    if file_format == "jsonl":
        return _json_lines_sql(paths, gzipped=gzipped)
    return _tabular_sql(con, paths, file_format, gzipped=gzipped)


def _rejected_row_sql(file_format: str) -> str:
    """The row as read, for the report's examples; built only for rows that were rejected."""
    if file_format == "jsonl":
        return "r_line"
    fields = ", ".join(f"{name} := CAST(r_{name} AS VARCHAR)" for name in FIELDS)
    return f"to_json(struct_pack({fields}))"


def _typed_sql(source_sql: str) -> str:
    """Each row's time as a timestamp and its project name as text, both as read."""
    return f"""
SELECT *, try_cast(r_timestamp AS TIMESTAMPTZ) AS ts,
       CAST(COALESCE(r_file_project, r_project) AS VARCHAR) AS raw_project
FROM ({source_sql})"""  # noqa: S608


def _skip_reason_sql(malformed: str, time: str, project: str) -> str:
    """Why a row is rejected, or NULL: the one definition of a bad row, asked of each group of
    identical (malformed, day, name) values by :func:`_counts_sql` and of each row by
    :func:`_rejected_rows_sql`, both with the day as :func:`_utc_day_number_sql` computes it."""
    return f"""CASE
      WHEN {malformed} THEN '{SKIP_MALFORMED}'
      WHEN {time} IS NULL THEN '{SKIP_TIMESTAMP}'
      WHEN {project} IS NULL OR trim({project}) = '' THEN '{SKIP_NO_PROJECT}'
      WHEN NOT {queries.DUCKDB.is_valid_name(project)} THEN '{SKIP_BAD_PROJECT}'
    END"""


# The classes an event can be counted under, in the order of their codes in the counting query.
_CLASS_CODES = (*INSTALLER_CLASSES, UPSTREAM)
_MICROSECONDS_A_DAY = 86_400_000_000


def _class_code_sql() -> str:
    """An event's installer class as its index in :data:`_CLASS_CODES`: one byte of a group's
    key instead of a string, named only once per group."""
    by_installer = queries.installer_class_sql(
        "r_installer_name", value=lambda name: str(_CLASS_CODES.index(name))
    )
    return (
        f"CAST(CASE WHEN r_source = '{UPSTREAM_SOURCE}' THEN {_CLASS_CODES.index(UPSTREAM)} "
        f"ELSE {by_installer} END AS UTINYINT)"
    )


def _class_name_sql(code: str) -> str:
    return f"[{queries.string_list(_CLASS_CODES)}][{code} + 1]"


def _utc_day_number_sql(time: str) -> str:
    """Days since 1970-01-01 of an instant's UTC day, from its epoch microseconds (floored, so
    an instant before 1970 falls on its own day too); NULL for no time or an infinite one.

    Casting a ``TIMESTAMPTZ`` to ``DATE`` converts through the session's time zone for every
    event; this is integer arithmetic, and the number becomes a date once per group. With the
    class as a byte too, counting the benchmark's 50 M events went from 20-22 s to 13-16 s
    (bench/downloads/README.md, issue 18).
    """
    micros = f"epoch_us({time})"
    return (
        f"CAST({micros} // {_MICROSECONDS_A_DAY} "
        f"- CASE WHEN {micros} % {_MICROSECONDS_A_DAY} < 0 THEN 1 ELSE 0 END AS INTEGER)"
    )


def _counts_sql(source_sql: str) -> str:
    """Downloads per (day, project, installer class), with the per-row work done once per group.

    The events are first counted per distinct (malformed, UTC day, name as spelled, installer
    class): a hash aggregate over the values as read, the only work done once per event, with
    the day as a number and the class as a byte so that the 16 M groups of the benchmark's 50 M
    events take less memory (and spill less) than with a date and a string. Each group is then
    checked and its name normalized: at the benchmark's 10 M events that is 4.4 M groups, and
    checking and normalizing every event had cost more than the peer's whole group-by
    (bench/downloads/README.md, issue 18). Groups whose names normalize alike are not added up
    here: only a ``renamed`` group (one whose name was not spelled normalized) can share its
    (day, project, class) with another, and :func:`_write_in_rollup_order` adds up just the
    groups of such names, instead of aggregating every group a second time. Rejected groups come
    out with no day and no project; the rows themselves are collected by
    :func:`_rejected_rows_sql`, only when there are any.
    """
    return f"""
WITH grouped AS (
  SELECT malformed, {_utc_day_number_sql("ts")} AS day_number, raw_project,
         {_class_code_sql()} AS class_code, count(*) AS events
  FROM ({_typed_sql(source_sql)})
  GROUP BY ALL
), checked AS (
  SELECT *, {_skip_reason_sql("malformed", "day_number", "raw_project")} AS skip_reason
  FROM grouped
), normalized AS (
  SELECT
    CASE WHEN skip_reason IS NULL THEN DATE '1970-01-01' + day_number END AS day,
    CASE WHEN skip_reason IS NULL THEN {queries.DUCKDB.normalize_name("raw_project")} END
      AS project,
    COALESCE(skip_reason, {_class_name_sql("class_code")}) AS installer_class,
    events AS downloads,
    raw_project
  FROM checked
)
SELECT day, project, installer_class, downloads, project <> raw_project AS renamed
FROM normalized"""  # noqa: S608


def _rejected_rows_sql(source_sql: str, file_format: str) -> str:
    """The rejected rows, one per distinct row as read (``project``) and reason
    (``installer_class``), with how often it occurred (``downloads``)."""
    return f"""
SELECT CAST({_rejected_row_sql(file_format)} AS VARCHAR) AS project,
       skip_reason AS installer_class, count(*) AS downloads
FROM (
  SELECT *, {_skip_reason_sql("malformed", _utc_day_number_sql("ts"), "raw_project")}
    AS skip_reason
  FROM ({_typed_sql(source_sql)})
)
WHERE skip_reason IS NOT NULL
GROUP BY ALL"""  # noqa: S608


def _rollup_rows_sql(relation: str) -> str:
    """Check each row of a BigQuery rollup result; same shape as the events, with a count."""
    name = "trim(project_name)"
    classes = queries.string_list(INSTALLER_CLASSES)
    return f"""
WITH typed AS (
  SELECT *, try_cast(trim(day) AS DATE) AS parsed_day, trim(installer_class) AS parsed_class,
         try_cast(trim(downloads) AS BIGINT) AS parsed_count
  FROM {relation}
), checked AS (
  SELECT *, CASE
      WHEN {name} IS NULL OR NOT {queries.DUCKDB.is_valid_name(name)} THEN '{SKIP_BAD_PROJECT}'
      WHEN parsed_day IS NULL THEN '{SKIP_BAD_DAY}'
      WHEN parsed_class IS NULL OR parsed_class NOT IN ({classes}) THEN '{SKIP_BAD_CLASS}'
      WHEN parsed_count IS NULL OR parsed_count < 0 THEN '{SKIP_BAD_COUNT}'
    END AS skip_reason
  FROM typed
)
SELECT
  CASE WHEN skip_reason IS NULL THEN parsed_day END AS day,
  CASE WHEN skip_reason IS NULL THEN {queries.DUCKDB.normalize_name(name)}
       ELSE concat_ws(',', project_name, day, installer_class, downloads) END AS project,
  COALESCE(skip_reason, parsed_class) AS installer_class,
  CASE WHEN skip_reason IS NULL THEN parsed_count ELSE 1 END AS downloads
FROM checked"""  # noqa: S608


def write_partition(
    con: duckdb.DuckDBPyConnection,
    key: str,
    kind: PartitionKind,
    origin: str,
    rows_sql: str,
    *,
    rejected_sql: str | None = None,
    progress: bool,
) -> ImportReport:
    """Write the counts once, day-partitioned, then register the partition in the database.

    Events arrive counted (:func:`_counts_sql`, given with ``rejected_sql``) and are written in
    rollup order: each day's file sorted by project in the rollup's row groups, so that a day no
    other partition holds is published by the rollup as it is, without a second aggregation and
    sort (rollup.py). Their rejected rows come out of the counting only as a count per reason;
    when there are any, ``rejected_sql`` collects them row by row in a second pass over the
    source, which only a file with bad rows pays for. A BigQuery rollup's rows already carry a
    ``downloads`` count and are written as they are.

    DuckDB writes to a local staging directory, which then takes its place (a rename, or an
    upload to the bucket, replacing what a crash before registration left there).
    """
    import duckdb

    staging = store.events_dir() / f".staging-{key}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    options = "FORMAT parquet, PARTITION_BY (day), WRITE_PARTITION_COLUMNS false"
    try:
        if rejected_sql is None:
            copy = f"COPY ({rows_sql}) TO {sql_literal(str(staging))} ({options})"
            _run_with_progress(con, copy, origin, enabled=progress)
        else:
            _write_in_rollup_order(con, staging, rows_sql, rejected_sql, origin, progress=progress)
        staging.mkdir(exist_ok=True)  # COPY writes no directory when there were no rows at all
        report, day_totals = _summarise(con, staging, key, origin, counted=rejected_sql is not None)
    except duckdb.Error as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ImportFailed(f"{origin}: {error}") from error
    store.publish_directory(staging, store.location("events", key))
    EventPartition.objects.create(
        key=key,
        kind=kind,
        origin=origin[:512],
        rows=report.rows_imported,
        days=report.days,
        day_totals=day_totals if rejected_sql is not None else None,
    )
    return report


# The good groups of the ``counted`` table as one row per (day, project, class): only a name
# that a renamed group normalized to can occur twice, and only the groups of such names are
# added up (spelled "Demo_Pkg" and "demo-pkg" on one day, say).
_GOOD = "SELECT day, project, installer_class, downloads FROM counted WHERE day IS NOT NULL"
_RENAMED = "SELECT DISTINCT project FROM counted WHERE renamed"
_GOOD_WITH_RENAMED_ADDED_UP = f"""
SELECT * FROM ({_GOOD}) WHERE project NOT IN ({_RENAMED})
UNION ALL
SELECT day, project, installer_class, sum(downloads)
FROM ({_GOOD}) WHERE project IN ({_RENAMED}) GROUP BY ALL"""  # noqa: S608


def _write_in_rollup_order(
    con: duckdb.DuckDBPyConnection,
    staging: Path,
    counts_sql: str,
    rejected_sql: str,
    origin: str,
    *,
    progress: bool,
) -> None:
    """Write counted events as the rollup's day files, and their rejected rows beside them.

    The counts are kept in a table first and sorted from there: sorting inside the counting
    query cost half as much again as counting (DuckDB 2.0, 10 M events: 12.0 s of CPU against
    5.9 s to count into a table plus 3.0 s to sort and write it). They are sorted by (day,
    project) only: a day's few rows of one project need no order among them, and the class as a
    third key tripled the sort's time.
    """
    con.execute("DROP TABLE IF EXISTS counted")
    _run_with_progress(con, f"CREATE TEMP TABLE counted AS {counts_sql}", origin, enabled=progress)
    try:
        [(renamed,)] = con.execute("SELECT count(*) FROM counted WHERE renamed").fetchall()
        good = _GOOD_WITH_RENAMED_ADDED_UP if renamed else _GOOD
        con.execute(
            f"COPY ({good} ORDER BY day, project) TO {sql_literal(str(staging))} "
            "(FORMAT parquet, PARTITION_BY (day), WRITE_PARTITION_COLUMNS false, "
            f"ROW_GROUP_SIZE {store.ROLLUP_ROW_GROUP})"
        )
        [(rejected_groups,)] = con.execute(
            "SELECT count(*) FROM counted WHERE day IS NULL"
        ).fetchall()
    finally:
        con.execute("DROP TABLE counted")
    if rejected_groups:
        rejected = staging / "day=__HIVE_DEFAULT_PARTITION__"
        rejected.mkdir(parents=True)
        con.execute(
            f"COPY ({rejected_sql}) TO {sql_literal(str(rejected / 'data_0.parquet'))} "
            "(FORMAT parquet)"
        )


def _summarise(
    con: duckdb.DuckDBPyConnection, staging: Path, key: str, origin: str, *, counted: bool
) -> tuple[ImportReport, dict[str, list[int]]]:
    """The report, read back from what was written: per-day rows, projects, and the bad rows;
    and each day's [rows, downloads], which a day's rollup takes from a partition it publishes.

    ``counted`` partitions hold one row per (day, project, class) with the number of events it
    stands for; otherwise each good row is one row of the file. A bad row is always counted in
    ``downloads``, since identical bad rows share one partition row.
    """
    report = ImportReport(source=origin, key=key)
    if not any(staging.glob("*/*.parquet")):
        _count_unparsable_lines(con, report)
        return report, {}
    written = (
        f"read_parquet({sql_literal(str(staging / '*' / '*.parquet'))}, hive_partitioning=true, "
        "hive_types={'day': DATE})"
    )
    per_day = con.execute(
        f"SELECT CAST(day AS VARCHAR), count(*), sum(downloads) FROM {written} "  # noqa: S608
        "WHERE day IS NOT NULL GROUP BY day ORDER BY day"
    ).fetchall()
    day_totals = {day: [int(rows), int(downloads)] for day, rows, downloads in per_day}
    report.days = list(day_totals)
    report.rows_imported = sum(totals[1 if counted else 0] for totals in day_totals.values())
    [(report.projects,)] = con.execute(  # a count is one row
        f"SELECT count(DISTINCT project) FROM {written} WHERE day IS NOT NULL"  # noqa: S608
    ).fetchall()
    # The rejected rows: the reason is in installer_class and the row as read in project.
    for reason, count, examples in con.execute(
        f"SELECT installer_class, sum(downloads), min(project, {EXAMPLES_PER_REASON}) "  # noqa: S608
        f"FROM {written} WHERE day IS NULL GROUP BY installer_class ORDER BY installer_class"
    ).fetchall():
        report.skipped[reason] = int(count)
        report.examples[reason] = examples
    _count_unparsable_lines(con, report)
    return report, day_totals


def _count_unparsable_lines(con: duckdb.DuckDBPyConnection, report: ImportReport) -> None:
    """Lines DuckDB's CSV reader could not split at all (wrong number of fields and the like)."""
    import duckdb

    try:
        rejected = con.execute(
            "SELECT file_id, line, any_value(error_message), any_value(csv_line) "
            "FROM reject_errors WHERE scan_id = (SELECT max(scan_id) FROM reject_errors) "
            "GROUP BY file_id, line ORDER BY file_id, line"
        ).fetchall()
    except duckdb.CatalogException:
        return  # nothing was read through the CSV reader
    if not rejected:
        return
    report.skipped[SKIP_MALFORMED] = report.skipped.get(SKIP_MALFORMED, 0) + len(rejected)
    examples = report.examples.setdefault(SKIP_MALFORMED, [])
    for _file, line, message, text in rejected[: max(0, EXAMPLES_PER_REASON - len(examples))]:
        examples.append(f"line {line}: {message}: {text}")


def _run_with_progress(con, sql: str, label: str, *, enabled: bool) -> None:
    """Run one long statement; on a terminal, show DuckDB's own progress as a bar."""
    if not enabled:
        con.execute(sql)
        return
    done = threading.Event()
    with tqdm(total=100, desc=f"importing {Path(label).name}", unit="%", disable=None) as bar:

        def poll() -> None:
            while not done.wait(0.25):
                percent = con.query_progress()
                if percent and percent > bar.n:
                    bar.update(int(percent) - bar.n)

        watcher = threading.Thread(target=poll, daemon=True)
        if not bar.disable:
            watcher.start()
        try:
            con.execute(sql)
        finally:
            done.set()
            if watcher.is_alive():
                watcher.join()
        bar.update(100 - bar.n)
