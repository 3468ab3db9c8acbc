"""Count Bastion's own downloads without ever making a download wait.

Serving a file only appends a tuple to an in-process queue. A background thread wakes every
``BASTION_DOWNLOADS_FLUSH_SECONDS``, parses what was queued (file name, User-Agent) and writes it
as one append-only segment under ``downloads/segments/``, in the data directory or in the bucket
(:mod:`bastion.downloads.store`). A segment is whole or absent (a temporary name, synced and
renamed on disk; one PUT in a bucket): a crash loses at most the events of one flush interval and
never leaves half a segment behind. Segment names hold the time, a random name for the process
and a sequence number, so the segments of many servers never collide. Segments are in the
BigQuery ``file_downloads`` JSON-lines shape, so the rollup imports them like any PyPI export.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from functools import lru_cache

from django.conf import settings
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from bastion.downloads import store
from bastion.downloads.useragents import parse_user_agent
from bastion.operations import metrics

# Longer agents are cut, so a client cannot make the caches below hold megabytes per entry; pip's
# JSON agent is a few hundred characters, and a cut one still parses as pip by its prefix.
MAX_AGENT_CHARS = 1024


@lru_cache(maxsize=65536)
def describe_file(filename: str) -> dict | None:
    """Project, version and type straight from a wheel or sdist name: no database query."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            packagetype = "bdist_wheel"
        else:
            name, version = parse_sdist_filename(filename)
            packagetype = "sdist"
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return {"filename": filename, "project": name, "version": str(version), "type": packagetype}


def event_line(
    timestamp: float, filename: str, user_agent: str | None, source: str = ""
) -> str | None:
    """One download as a ``file_downloads`` row; None for files that are no distribution.

    ``source`` marks a file served from the upstream index's cache (``details.bastion_source``),
    which the import turns into the installer class ``upstream``.
    """
    rest = _row_without_timestamp(filename, (user_agent or "")[:MAX_AGENT_CHARS], source)
    if rest is None:
        return None
    return f'{{"timestamp":"{_second(int(timestamp))}",{rest}'


@lru_cache(maxsize=64)
def _second(epoch_second: int) -> str:
    """Whole seconds, as in PyPI's own data; a flush formats each second once, not each event."""
    return datetime.fromtimestamp(epoch_second, UTC).isoformat()


@lru_cache(maxsize=8192)
def _row_without_timestamp(filename: str, user_agent: str, source: str = "") -> str | None:
    """Everything but the time, cached: the same few files and agents come back all day."""
    file = describe_file(filename)
    if file is None:
        return None
    installer = parse_user_agent(user_agent)
    details: dict[str, object] | None = None
    if installer is not None:
        details = {
            "installer": {"name": installer.name, "version": installer.version},
            "ci": installer.ci,
        }
    if source:
        details = {**(details or {}), "bastion_source": source}
    row = {"project": file["project"], "file": file, "details": details}
    return json.dumps(row, separators=(",", ":"))[1:]


class Recorder:
    """A per-process buffer of downloads and the thread that flushes it."""

    def __init__(self) -> None:
        self._pending: deque[tuple[float, str, str | None, str]] = deque()
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._sequence = itertools.count()
        self._writer = uuid.uuid4().hex[:12]
        os.register_at_fork(after_in_child=self._forget_parent)

    def _forget_parent(self) -> None:
        """A forked worker must not inherit its parent's queue, nor believe its flusher runs,
        nor name its segments as its parent does."""
        self._pid = None
        self._pending = deque()
        self._writer = uuid.uuid4().hex[:12]

    def record(
        self, filename: str, user_agent: str | None, now: float | None = None, source: str = ""
    ) -> None:
        if self._pid is None:
            self._start()
        self._pending.append((time.time() if now is None else now, filename, user_agent, source))

    def _start(self) -> None:
        """Start the flusher in this process, on its first download."""
        with self._start_lock:
            if self._pid is not None:
                return
            self._stop = threading.Event()
            self._pid = os.getpid()
            interval = float(settings.DOWNLOADS_FLUSH_SECONDS)
            thread = threading.Thread(
                target=self._run, args=(interval, self._stop), name="download-flusher", daemon=True
            )
            thread.start()

    def _run(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            metrics.RECORDER_QUEUE.set(len(self._pending))
            self.flush()

    def flush(self) -> str | None:
        """Write everything queued so far as one segment; returns where, if one was written."""
        with self._flush_lock:
            count = len(self._pending)
            if not count:
                return None
            events = [self._pending.popleft() for _ in range(count)]
            lines = [line for event in events if (line := event_line(*event)) is not None]
            if not lines:
                return None
            return self._write_segment(lines)

    def _write_segment(self, lines: list[str]) -> str:
        name = f"{time.time_ns()}-{self._writer}-{next(self._sequence)}.jsonl"
        return store.write_segment(name, "\n".join(lines) + "\n")

    def flush_at_exit(self) -> None:
        if self._pid == os.getpid():
            self._stop.set()
            self.flush()


_recorder = Recorder()
atexit.register(_recorder.flush_at_exit)


def record_download(
    filename: str, user_agent: str | None, now: float | None = None, source: str = ""
) -> None:
    """Count one served file. Never blocks on I/O; a no-op when counting is switched off.

    ``source="upstream"`` for files served from the upstream index's cache: their own class.
    """
    if settings.DOWNLOADS_COUNTING:
        _recorder.record(filename, user_agent, now, source)


def flush() -> str | None:
    """Write this process's queued downloads now (tests, and commands that serve then exit)."""
    return _recorder.flush()
