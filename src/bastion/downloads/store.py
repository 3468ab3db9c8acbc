"""Where download events live on disk, and the DuckDB connection that reads and writes them.

Layout under ``DATA_DIR/downloads/``:

- ``segments/``: append-only JSON-lines files the recorder writes, one per process and flush.
- ``events/<key>/day=YYYY-MM-DD/*.parquet``: immutable, day-partitioned event partitions, one per
  import (keyed by the content hash of the file) or per batch of compacted segments. Each holds
  (project, installer class, downloads) counts: events are counted as they are imported.
- ``rollup/<generation>/day=YYYY-MM-DD/*.parquet``: the daily rollup, one generation per rollup
  run, sorted by project. ``RollupDay`` rows say which generation is current for each day.
- ``maintenance.lock``: held while importing or rolling up, so two runs never interleave.
"""

from __future__ import annotations

import fcntl
import os
import threading
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


def rollup_dir() -> Path:
    return downloads_dir() / "rollup"


def partition_day_glob(key: str, day: str) -> str:
    return str(events_dir() / key / f"day={day}" / "*.parquet")


def _opened(config: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up as every one Bastion opens.

    Days are UTC days, as on PyPI, whatever the host says. DuckDB prints a progress bar to
    standard output once a query runs past two seconds, even when that is a pipe a caller parses
    as JSON; Bastion never lets it (the import draws its own progress from ``query_progress``).
    """
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, **config})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar_print = false")
    return con


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that works in UTC and spills to the data directory, not to RAM."""
    spill = downloads_dir() / "duckdb-tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con = _opened({"temp_directory": str(spill)})
    con.execute("SET enable_progress_bar = true")  # tracked for query_progress, never printed
    return con


_readers = threading.local()


def reader() -> duckdb.DuckDBPyConnection:
    """This thread's connection for reading the rollup from a request or the designation.

    Opening DuckDB costs milliseconds, a project page's query about as much, so each thread keeps
    one; queries only read small Parquet files and never spill.
    """
    con = getattr(_readers, "con", None)
    if con is None:
        con = _opened({})
        _readers.con = con
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
