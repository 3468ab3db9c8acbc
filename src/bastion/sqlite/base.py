"""SQLite whose write transactions queue on a lock the kernel hands over, not on sleeps.

SQLite lets one writer in at a time. A connection that finds the write lock taken waits in
SQLite's busy handler, which sleeps and retries with growing pauses (1, 2, 5, 10 … 100 ms): it
oversleeps the moment the lock is freed, and the more writers wait, the longer they sleep. Under
parallel uploads the server then spent its time asleep: eight uploaders loaded an index more
slowly than two.

So every write transaction (Django starts each one with ``BEGIN IMMEDIATE``) first takes this
process's writer lock, a :class:`threading.Lock`, then an exclusive ``flock`` on a lock file
beside the database, which orders the processes (the server's workers, the CLI, the worker).
Threads of one process wake the moment the lock is released; across processes the one waiter
of each process polls the lock file every half millisecond. ``BEGIN IMMEDIATE`` then finds the
database free. Waiting keeps SQLite's own limit (``OPTIONS["timeout"]``) and fails as SQLite
would: ``database is locked``.

A write outside a transaction (an ``UPDATE`` or ``INSERT`` under autocommit, as the rate limits'
counters make) is a transaction of its own to SQLite, so it queues on the same lock for its
statement: in SQLite's busy handler it slept while the upload that counted it held its
process's checking turn, and the bulk load's uploads waited about 3 ms each there.

This changes only who waits where: SQLite's locks still decide what is safe, so a writer that
does not use this backend (``sqlite3`` at a shell) is still kept out, through the busy handler.
The lock file is not the database: closing a descriptor of the database file itself would drop
the POSIX locks SQLite holds through its own descriptors.
"""

import fcntl
import os
import threading
import time
from pathlib import Path

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_POLL_SECONDS = 0.0005
_DEFAULT_TIMEOUT = 5.0  # sqlite3.connect's default


class _WriterLock:
    """One database's writer lock: a thread lock in this process, a file lock across processes."""

    def __init__(self, lock_file: Path) -> None:
        self._lock_file = lock_file
        self._threads = threading.Lock()
        self._descriptor: int | None = None
        self._pid = 0

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        try:
            descriptor = self._open()
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise OperationalError("database is locked") from None
                    time.sleep(_POLL_SECONDS)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        if self._descriptor is not None:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        self._threads.release()

    def _open(self) -> int:
        """This process's descriptor: a forked worker opens its own, since a ``flock`` held
        through a descriptor inherited across ``fork`` would be held by both processes."""
        if self._descriptor is None or self._pid != os.getpid():
            self._descriptor = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._descriptor


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _Cursor(base.SQLiteCursorWrapper):
    """Django's SQLite cursor, running a write outside a transaction under the writer lock.

    Statements are told apart by their first word: one taken for a read only queues less
    well, since SQLite's own locks still decide what is safe.
    """

    wrapper: "DatabaseWrapper"

    def execute(self, query, params=None):
        return self._queued(query, super().execute, query, params)

    def executemany(self, query, param_list):
        return self._queued(query, super().executemany, query, param_list)

    def _queued(self, query: str, run, *arguments):
        """``run(*arguments)``, under the writer lock when ``query`` needs it."""
        lock = self._lock_for(query)
        if lock is None:
            return run(*arguments)
        lock.acquire(self.wrapper.lock_timeout)
        try:
            return run(*arguments)
        finally:
            lock.release()

    def _lock_for(self, query: str) -> _WriterLock | None:
        """The writer lock, for a write that is a transaction of its own."""
        if self.connection.in_transaction or not query.lstrip()[:7].upper().startswith(_WRITES):
            return None
        return self.wrapper._writer_lock()


_LOCKS: dict[Path, _WriterLock] = {}
_LOCKS_GUARD = threading.Lock()


def _writer_lock(database: Path) -> _WriterLock:
    with _LOCKS_GUARD:
        lock_file = database.with_name(database.name + "-writer.lock")
        return _LOCKS.setdefault(lock_file, _WriterLock(lock_file))


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's SQLite backend, taking the writer lock around each transaction.

    The hooks overridden here are the backend's private ones, which django-stubs does not
    declare: hence the ``type: ignore`` on each call to the original.
    """

    _holds_writer_lock = False
    _lock_for: tuple[object, _WriterLock | None] | None = None  # (the database's name, its lock)

    def _writer_lock(self) -> _WriterLock | None:
        """The database's writer lock, found once per name: every write transaction asks, and
        resolving the path costs a system call per directory (1.6% of an upload's CPU)."""
        name = self.settings_dict["NAME"]
        if self._lock_for is None or self._lock_for[0] != name:
            lock = None if self.is_in_memory_db() else _writer_lock(Path(name).resolve())
            self._lock_for = (name, lock)
        return self._lock_for[1]

    @property
    def lock_timeout(self) -> float:
        """How long a writer waits for the lock: SQLite's own limit, as its busy handler would."""
        return float(self.settings_dict["OPTIONS"].get("timeout", _DEFAULT_TIMEOUT))

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=_Cursor)
        cursor.wrapper = self
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        lock = self._writer_lock()
        if lock is None:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
            return
        lock.acquire(self.lock_timeout)
        self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_when_done()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_when_done()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_writer_lock()

    def _release_when_done(self) -> None:
        """Release once SQLite's transaction has ended: a COMMIT that failed leaves it open."""
        if self.connection is None or not self.connection.in_transaction:
            self._release_writer_lock()

    def _release_writer_lock(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            lock = self._writer_lock()
            if lock is not None:
                lock.release()
