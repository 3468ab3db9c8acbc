"""The daily rollup as SQL, rendered from one template for BigQuery and for DuckDB.

At PyPI scale the aggregation runs on BigQuery over the public ``file_downloads`` table, and only
its small result is imported. The DuckDB rendering of the very same template runs here, on local
samples and on every import, so the two can never drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bastion.downloads.useragents import (
    BROWSER,
    BROWSER_NAMES,
    INSTALLER,
    INSTALLER_NAMES,
    MIRROR,
    MIRROR_NAMES,
    OTHER,
)

# PEP 508 / core metadata: a valid project name, before normalization.
PROJECT_NAME_PATTERN = r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$"
PROJECT_NAME = re.compile(PROJECT_NAME_PATTERN)
BIGQUERY_TABLE = "`bigquery-public-data.pypi.file_downloads`"
ROLLUP_COLUMNS = ("project_name", "day", "installer_class", "downloads")


@dataclass(frozen=True)
class Dialect:
    name: str
    table: str

    def normalize_name(self, column: str) -> str:
        """PEP 503 normalization: runs of -_. become one dash, then lower case."""
        if self.name == "bigquery":
            return f"LOWER(REGEXP_REPLACE({column}, r'[-_.]+', '-'))"
        # The same function without a regular expression on every row: map _ and . to -,
        # then collapse runs of - only in the rare names that have one.
        dashed = f"lower(replace(replace({column}, '_', '-'), '.', '-'))"
        return (
            f"CASE WHEN contains({dashed}, '--') "
            f"THEN regexp_replace({dashed}, '-+', '-', 'g') ELSE {dashed} END"
        )

    def is_valid_name(self, column: str) -> str:
        if self.name == "bigquery":
            return f"REGEXP_CONTAINS({column}, r'{PROJECT_NAME_PATTERN}')"
        return f"regexp_full_match({column}, '{PROJECT_NAME_PATTERN}')"

    def day(self, column: str) -> str:
        return f"DATE({column})" if self.name == "bigquery" else f"CAST({column} AS DATE)"

    def start_of(self, day: date) -> str:
        if self.name == "bigquery":
            return f"TIMESTAMP('{day.isoformat()}')"
        return f"TIMESTAMPTZ '{day.isoformat()} 00:00:00+00'"


BIGQUERY = Dialect("bigquery", BIGQUERY_TABLE)
DUCKDB = Dialect("duckdb", "file_downloads")


def _quoted(name: str) -> str:
    return f"'{name}'"


def string_list(names: tuple[str, ...]) -> str:
    """Fixed names (classes, installers: never user input) as a list of SQL string literals."""
    return ", ".join(_quoted(name) for name in names)


def installer_class_sql(column: str, value: Callable[[str], str] = _quoted) -> str:
    """The installer class of an installer name, as a CASE both dialects understand.

    ``value`` renders each class as SQL: its name as a string literal, or (the import's
    counting) a small number that a group's key holds in fewer bytes than the name.
    """
    return (
        f"CASE WHEN {column} IN ({string_list(INSTALLER_NAMES)}) THEN {value(INSTALLER)}"
        f" WHEN {column} IN ({string_list(MIRROR_NAMES)}) THEN {value(MIRROR)}"
        f" WHEN {column} IN ({string_list(BROWSER_NAMES)}) THEN {value(BROWSER)}"
        f" ELSE {value(OTHER)} END"
    )


def rollup_query(dialect: Dialect, since: date) -> str:
    """Downloads per (project, day, installer class) from ``since`` on, as one query."""
    project = "COALESCE(file.project, project)"
    return f"""-- Bastion daily download rollup: {", ".join(ROLLUP_COLUMNS)}.
-- Only the '{INSTALLER}' class counts toward the critical-project ranking.
-- Save the result as CSV and load it with: bastion downloads import-rollup FILE.csv
-- (no ORDER BY: sorting tens of millions of result rows is the one step BigQuery does on one node)
SELECT
  project_name,
  day,
  installer_class,
  COUNT(*) AS downloads
FROM (
  SELECT
    {dialect.normalize_name(project)} AS project_name,
    {dialect.day("timestamp")} AS day,
    {installer_class_sql("details.installer.name")} AS installer_class
  FROM {dialect.table}
  WHERE timestamp >= {dialect.start_of(since)}
    AND {dialect.is_valid_name(project)}
)
GROUP BY project_name, day, installer_class
"""  # noqa: S608
