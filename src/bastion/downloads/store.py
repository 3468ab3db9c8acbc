"""Where download events live, and the DuckDB connection that reads and writes them.

They live under ``DATA_DIR/downloads/``, or, with ``BASTION_STORAGE_URL=s3://BUCKET/PREFIX``,
under ``PREFIX/downloads/`` in the bucket, so that every server's recorder writes where the one
worker that rolls up reads, and every server reads the same rollup. Layout:

- ``segments/``: append-only JSON-lines files the recorder writes, one per process and flush.
- ``events/<key>/day=YYYY-MM-DD/*.parquet``: immutable, day-partitioned event partitions, one per
  import (keyed by the content hash of the file) or per batch of compacted segments. Each holds
  (project, installer class, downloads) counts: events are counted as they are imported.
- ``rollup/<generation>/day=YYYY-MM-DD/*.parquet``: the daily rollup, one generation per rollup
  run, sorted by project. ``RollupDay`` rows say which generation is current for each day.
- ``maintenance.lock`` (always local): held while importing or rolling up, so two runs never
  interleave; on PostgreSQL an advisory lock does the same across machines.

The bucket is reached through an fsspec file system (s3fs) that each DuckDB connection has
registered, not through DuckDB's httpfs extension, which is downloaded at run time and so fails on
an offline installation. DuckDB always writes locally (under ``DATA_DIR/downloads/``); a finished
directory is then renamed into place, or uploaded to the bucket (:func:`publish_directory`).
Objects in a bucket are whole or absent, so a segment there needs no temporary name.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

if TYPE_CHECKING:
    # Imported where used: every server process imports this module (its download recorder
    # writes segments), and DuckDB and fsspec cost each one tens of MiB it rarely needs.
    import duckdb
    import fsspec

# DuckDB's cap, not the process's: Python, Django and what DuckDB keeps outside its buffer manager
# come on top (about 170 MiB at 50 M events), so 1.6 GB keeps an import under 2 GiB.
DUCKDB_MEMORY_LIMIT = os.environ.get("BASTION_DUCKDB_MEMORY_LIMIT", "1.6GB")
# Rows per row group of a rollup file, and of an event partition's day files, which are written
# in rollup order: a project's lookup reads one such group per day (found from min/max
# statistics), and 89,000-row days at PyPI's scale still compress well.
ROLLUP_ROW_GROUP = 10_240


#: Any 64-bit number of our own: the PostgreSQL advisory lock that serialises imports and
#: rollups across machines.
DATABASE_LOCK = 0x62617374696F6E  # "bastion"


def downloads_dir() -> Path:
    """The local directory: all of the statistics on one machine, DuckDB's scratch with a bucket."""
    return Path(settings.DATA_DIR) / "downloads"


def segments_dir() -> Path:
    return downloads_dir() / "segments"


def events_dir() -> Path:
    return downloads_dir() / "events"


def rollup_dir() -> Path:
    return downloads_dir() / "rollup"


def in_bucket() -> bool:
    """True when the statistics live in the bucket of ``BASTION_STORAGE_URL=s3://…``."""
    return settings.STORAGE_URL.startswith("s3:")


def filesystem() -> fsspec.AbstractFileSystem:
    """The file system the statistics live on: the local one, or the bucket through s3fs."""
    if not in_bucket():
        import fsspec

        return fsspec.filesystem("file")
    # A forked worker makes its own client; the endpoint is part of the key for the tests' sake.
    return _s3fs(os.getpid(), os.environ.get("AWS_ENDPOINT_URL", ""))


@lru_cache(maxsize=4)
def _s3fs(_pid: int, _endpoint: str) -> fsspec.AbstractFileSystem:
    """s3fs configured, like boto3, by the standard ``AWS_*`` variables; no listing cache, since
    other servers add segments all the time; checksums only where required (older MinIO, Ceph)."""
    import s3fs  # only with a bucket

    return s3fs.S3FileSystem(
        use_listings_cache=False,
        skip_instance_cache=True,
        config_kwargs={
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        },
    )


def location(*parts: str) -> str:
    """The file system path of ``downloads/<parts>``: in the data directory, or in the bucket."""
    if in_bucket():
        storage = urlsplit(settings.STORAGE_URL)
        root = "/".join(p for p in (storage.netloc, storage.path.strip("/"), "downloads") if p)
    else:
        root = str(downloads_dir())
    return "/".join((root, *parts))


def url(path: str) -> str:
    """What DuckDB is given for a :func:`location`: the path, or its ``s3://`` URL."""
    return f"s3://{path}" if in_bucket() else path


def write_segment(name: str, text: str) -> str:
    """Store one segment of recorded downloads whole, or not at all; return where it went.

    On disk: a temporary name, fsync, rename. In the bucket, one PUT is already all or nothing;
    it goes through boto3, not s3fs, whose aiohttp cannot resolve a host name once the
    interpreter is shutting down, which is when a stopping server flushes its last downloads.
    """
    target = location("segments", name)
    if in_bucket():
        from bastion.packaging import storage
        from bastion.packaging.storage_s3 import S3Backend

        bucket = storage.backend()
        assert isinstance(bucket, S3Backend)  # in_bucket() said so
        bucket.put_object(f"downloads/segments/{name}", text.encode())
        return target
    directory = segments_dir()
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temporary, target)
    return target


def partition_day_glob(key: str, day: str) -> str:
    return url(location("events", key, f"day={day}", "*.parquet"))


def publish_directory(written: Path, target: str) -> None:
    """Give a directory DuckDB wrote locally its place: one rename, or an upload to the bucket
    (then the local copy goes). Anything left at ``target`` by a crash is replaced."""
    if not in_bucket():
        if str(written) != target:
            shutil.rmtree(target, ignore_errors=True)
            written.rename(target)
        return
    remove_tree(target)
    if any(path.is_file() for path in written.rglob("*")):
        filesystem().put(str(written), target, recursive=True)
    shutil.rmtree(written, ignore_errors=True)


def link_files(source: str, target: str) -> None:
    """Give the files of directory ``source`` a second name in ``target``: hard links on disk,
    copies made by the bucket itself (no download) in a bucket. Both are immutable files."""
    fs = filesystem()
    for path in fs.ls(source, detail=False):
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if in_bucket():
            fs.copy(path, f"{target}/{name}")
        else:
            os.makedirs(target, exist_ok=True)
            os.link(path, os.path.join(target, name))


def remove_tree(path: str) -> None:
    """Delete a directory (or prefix) and everything under it; nothing there is fine."""
    fs = filesystem()
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _register(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    if in_bucket():
        con.register_filesystem(filesystem())
    return con


def _opened(config: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up as every one Bastion opens.

    Days are UTC days, as on PyPI, whatever the host says. DuckDB prints a progress bar to
    standard output once a query runs past two seconds, even when that is a pipe a caller parses
    as JSON; Bastion never lets it (the import draws its own progress from ``query_progress``).
    """
    import duckdb

    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, **config})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar_print = false")
    return con


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that works in UTC and spills to the data directory, not to RAM."""
    spill = downloads_dir() / "duckdb-tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con = _register(_opened({"temp_directory": str(spill)}))
    con.execute("SET enable_progress_bar = true")  # tracked for query_progress, never printed
    return con


_readers = threading.local()


def reader() -> duckdb.DuckDBPyConnection:
    """This thread's connection for reading the rollup from a request or the designation.

    Opening DuckDB costs milliseconds, a project page's query about as much, so each thread keeps
    one; queries only read small Parquet files and never spill.
    """
    con = getattr(_readers, "con", None)
    if con is None or _readers.in_bucket != in_bucket():
        con = _register(_opened({}))
        _readers.con, _readers.in_bucket = con, in_bucket()
    return con


@contextmanager
def maintenance_lock() -> Iterator[None]:
    """Serialise imports and rollups across processes, and on PostgreSQL across machines too
    (two workers, or a worker and ``bastion downloads rollup``); readers never take it."""
    downloads_dir().mkdir(parents=True, exist_ok=True)
    with open(downloads_dir() / "maintenance.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with database_lock():
                yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def database_lock() -> Iterator[None]:
    """A session-level PostgreSQL advisory lock; nothing on SQLite, which one machine owns."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [DATABASE_LOCK])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [DATABASE_LOCK])
