"""A synthetic BigQuery ``file_downloads`` export: N events, Zipf-like over projects, 180 days.

Generated entirely in DuckDB SQL, straight to Parquet with the nested ``file`` and ``details``
records of the real table. Project ranks follow a log-uniform draw, i.e. P(rank r) ~ 1/r (Zipf
with s = 1); installers are mostly pip and uv, with mirrors, browsers and unknown agents mixed in.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

START = "2026-05-29"


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB in UTC whose progress bar shows on a terminal only, never in a log or a pipe."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if not sys.stdout.isatty():
        con.execute("SET enable_progress_bar_print = false")
    return con


def generate(path: Path, events: int, projects: int, days: int, seed: float = 0.42) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect()
    con.execute(f"SELECT setseed({seed})")
    con.execute(f"""
COPY (
  WITH draws AS (
    SELECT
      least(CAST(floor(exp(random() * ln({projects}))) AS BIGINT), {projects}) AS rank,
      random() AS who,
      CAST(random() * {days} * 86400 AS BIGINT) AS second,
      CAST(random() * 4 AS INTEGER) AS minor
    FROM range({events})
  ), named AS (
    SELECT *, 'project_' || rank AS name, '1.' || minor || '.0' AS version FROM draws
  )
  SELECT
    TIMESTAMPTZ '{START} 00:00:00+00' + to_seconds(second) AS timestamp,
    'US' AS country_code,
    replace(name, '_', '-') AS project,
    {{
      'filename': name || '-' || version || '-py3-none-any.whl',
      'project': replace(name, '_', '-'),
      'version': version,
      'type': 'bdist_wheel'
    }} AS file,
    CASE
      WHEN who < 0.03 THEN NULL
      ELSE {{
        'installer': {{
          'name': CASE
            WHEN who < 0.70 THEN 'pip' WHEN who < 0.82 THEN 'uv' WHEN who < 0.85 THEN 'poetry'
            WHEN who < 0.93 THEN 'bandersnatch' WHEN who < 0.95 THEN 'Artifactory'
            WHEN who < 0.96 THEN 'devpi' WHEN who < 0.97 THEN 'Nexus'
            WHEN who < 0.98 THEN 'Browser' ELSE 'requests' END,
          'version': '24.' || minor
        }},
        'python': '3.1' || minor,
        'ci': CASE WHEN who < 0.3 THEN true END
      }}
    END AS details
  FROM named
) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000, COMPRESSION zstd)
""")  # noqa: S608 - numbers and a path this script chose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--projects", type=int, default=500_000)
    parser.add_argument("--days", type=int, default=180)
    args = parser.parse_args()
    started = time.perf_counter()
    generate(args.output, args.events, args.projects, args.days)
    print(f"{args.events:,} events in {time.perf_counter() - started:.1f} s -> {args.output}")


if __name__ == "__main__":
    main()
