"""Where download events live on disk, and the DuckDB connection that reads and writes them.

Layout under ``DATA_DIR/downloads/``:

- ``segments/``: append-only JSON-lines files the recorder writes, one per process and flush.
- ``events/<key>/day=YYYY-MM-DD/*.parquet``: immutable, day-partitioned event partitions, one per
  import (keyed by the export's content hash) or per batch of compacted segments.
- ``maintenance.lock``: held while importing or rolling up, so two runs never interleave.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from django.conf import settings

DUCKDB_MEMORY_LIMIT = os.environ.get("BASTION_DUCKDB_MEMORY_LIMIT", "2GB")


def downloads_dir() -> Path:
    return Path(settings.DATA_DIR) / "downloads"


def segments_dir() -> Path:
    return downloads_dir() / "segments"


def events_dir() -> Path:
    return downloads_dir() / "events"


def partition_day_glob(key: str, day: str) -> str:
    return str(events_dir() / key / f"day={day}" / "*.parquet")


def rejected_rows_glob(key: str) -> str:
    """Rows that failed validation are kept beside the good ones, so reports can show examples."""
    return str(events_dir() / key / "day=__HIVE_DEFAULT_PARTITION__" / "*.parquet")


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that works in UTC and spills to the data directory, not to RAM."""
    spill = downloads_dir() / "duckdb-tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": str(spill),
        }
    )
    con.execute("SET TimeZone = 'UTC'")  # days are UTC days, as on PyPI, whatever the host says
    # Track progress (query_progress) but never print DuckDB's bar: the import draws its own.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


@contextmanager
def maintenance_lock() -> Iterator[None]:
    """Serialise imports and rollups across processes; readers never take it."""
    downloads_dir().mkdir(parents=True, exist_ok=True)
    with open(downloads_dir() / "maintenance.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
