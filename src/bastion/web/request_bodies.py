"""A request body must keep arriving: a deadline on reading it, enforced even mid-read.

uWSGI's ``--socket-timeout`` bounds each wait for the next bytes, not the whole body, and its
``wsgi.input.read(n)`` blocks until all ``n`` bytes are there (Django reads 64 KiB at a time), so
a client sending 100 bytes a second could hold a worker thread for as long as it liked. Every
body therefore gets a deadline, as Apache's ``mod_reqtimeout`` gives one: it starts at the first
read and grows with what has arrived, ``REQUEST_BODY_GRACE_SECONDS`` plus one second per
``REQUEST_BODY_MIN_RATE`` bytes (the read in progress counts as arrived, so a sender at the
minimum rate is never cut off between two reads).

Two things enforce it. Each read checks it when it returns. And a watchdog thread per process
checks the bodies being read once a second and, for one that is overdue, shuts down the receiving
side of its connection: the blocked read then fails at once, and :class:`BodyTooSlow` is raised
in its place. Django answers that 400; the upload view answers it 408 with its reason.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from django.conf import settings
from django.core.exceptions import BadRequest

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_WATCH_INTERVAL = 1.0


class BodyTooSlow(BadRequest):
    """The request body arrived slower than the minimum rate allows."""


def _connection_fd() -> int | None:
    """The client socket of the current uWSGI request; None outside uWSGI."""
    try:
        import uwsgi  # only importable inside a uWSGI worker
    except ImportError:
        return None
    return uwsgi.connection_fd()


class _DeadlineInput:
    def __init__(self, stream, length: int, grace: float, min_rate: float, fd: int | None):
        self._stream = stream
        self._length = length
        self._grace = grace
        self._min_rate = min_rate
        self._fd = fd
        self._started: float | None = None
        self._received = 0
        self._pending = 0  # the size of the read in progress
        self.timed_out = False

    def overdue(self, now: float) -> bool:
        if self._started is None:
            return False
        allowed = self._grace + (self._received + self._pending) / self._min_rate
        return now - self._started > allowed

    def abort(self) -> None:
        """Called by the watchdog: make the blocked read fail now (the reply can still be sent)."""
        self.timed_out = True
        if self._fd is None:
            return
        with contextlib.suppress(OSError):  # the client may be gone already
            dup = socket.socket(fileno=socket.dup(self._fd))
            try:
                dup.shutdown(socket.SHUT_RD)
            finally:
                dup.close()

    def _error(self) -> BodyTooSlow:
        elapsed = time.monotonic() - (self._started or time.monotonic())
        return BodyTooSlow(
            f"The request body arrived too slowly: {self._received} bytes in {elapsed:.0f} s "
            f"(at least {self._min_rate / 1000:g} kB/s are needed after the first "
            f"{self._grace:g} s)."
        )

    def _read(self, method, size: int) -> bytes:
        if self._started is None:
            self._started = time.monotonic()
            _WATCHDOG.watch(self)
        if self.timed_out:
            raise self._error()
        self._pending = size if size >= 0 else max(0, self._length - self._received)
        try:
            data = method(size)
        except OSError:
            if self.timed_out:
                raise self._error() from None
            raise
        finally:
            self._pending = 0
        self._received += len(data)
        if self.timed_out or self.overdue(time.monotonic()):
            self.timed_out = True
            raise self._error()
        if not data or self._received >= self._length:
            _WATCHDOG.unwatch(self)
        return data

    def read(self, size: int = -1, /) -> bytes:
        return self._read(self._stream.read, size)

    def readline(self, size: int = -1, /) -> bytes:
        return self._read(self._stream.readline, size)


class _Watchdog:
    """One thread per process that aborts the reads of overdue bodies."""

    def __init__(self) -> None:
        self._bodies: set[_DeadlineInput] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, body: _DeadlineInput) -> None:
        with self._lock:
            self._bodies.add(body)
            if self._thread is None or not self._thread.is_alive():  # also after a fork
                self._thread = threading.Thread(target=self._run, name="body-deadline", daemon=True)
                self._thread.start()

    def unwatch(self, body: _DeadlineInput) -> None:
        with self._lock:
            self._bodies.discard(body)

    def _run(self) -> None:
        while True:
            time.sleep(_WATCH_INTERVAL)
            now = time.monotonic()
            # Under the lock: a request unwatches its body before its connection closes, so the
            # descriptor aborted here is never one reused by the next connection.
            with self._lock:
                overdue = [body for body in self._bodies if body.overdue(now)]
                self._bodies.difference_update(overdue)
                for body in overdue:
                    body.abort()


_WATCHDOG = _Watchdog()


class BodyDeadline:
    """WSGI middleware that puts the deadline on the body of every request that has one."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in _WITH_BODY or "wsgi.input" not in environ:
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = _DeadlineInput(
            environ["wsgi.input"],
            length,
            settings.REQUEST_BODY_GRACE_SECONDS,
            settings.REQUEST_BODY_MIN_RATE,
            _connection_fd(),
        )
        environ["wsgi.input"] = body
        try:
            return self.app(environ, start_response)
        finally:
            _WATCHDOG.unwatch(body)
