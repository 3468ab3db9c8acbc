"""How many uploads may be arriving at once: slow uploads must never hold every worker thread.

An upload's body can take minutes on a slow link (and the body deadline allows that), and the
thread reading it serves nothing else meanwhile. So an authenticated upload first takes a slot:
at most ``UPLOADS_IN_FLIGHT`` server-wide (by default half of the server's threads, so reads keep
the other half) and ``UPLOADS_IN_FLIGHT_PER_ADDRESS`` from one client address. Without a free slot
it is refused at once with 503 and ``Retry-After``, before its body is read.

Slots are ``flock`` locks on files in ``UPLOADS_DIR/slots``: shared by every worker process and
thread of the server, and released by the kernel when a process dies, so a killed worker never
leaks one. Addresses are hashed into a fixed number of buckets so the directory stays small.
Each process keeps its server-wide slot files open (:class:`_ServerSlots`); an address's are
opened per upload, since an address's first slot is nearly always free.

Once its body has arrived, an upload is checked and recorded by one thread of its process at a
time (:func:`checking_turn`). That work is CPU-bound, so threads doing it side by side share one
interpreter lock and finish no sooner. Worse, every SQL statement hands that lock to a sibling
and waits up to the interpreter's switch interval (5 ms) to get it back: a thread holding the
database's write lock held it for that much longer per statement, and every other upload of
the server queued behind it. Eight parallel uploaders loaded an index more slowly than two.
Storing the bytes between the checks and the commit happens outside the turn: writing and
``fsync``-ing them waits on the disk, not the interpreter, so a sibling can check meanwhile.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path

from django.conf import settings

from bastion.upload.errors import UploadRejected

_ADDRESS_BUCKETS = 1024
RETRY_AFTER_SECONDS = 30
_THREADS_WITHOUT_UWSGI = 8  # the test client and other in-process callers
_CHECKING = threading.RLock()  # re-entered only by tests whose rival uploads run inside one


@cache
def server_threads() -> int:
    """Worker processes times threads of the running uWSGI server."""
    try:
        import uwsgi  # only importable inside a uWSGI worker
    except ImportError:
        return _THREADS_WITHOUT_UWSGI
    threads = uwsgi.opt.get("threads", b"1")
    threads = int(threads.decode() if isinstance(threads, bytes) else threads)
    return max(1, int(uwsgi.numproc) * threads)


def server_capacity() -> int:
    return settings.UPLOADS_IN_FLIGHT or max(1, server_threads() // 2)


def _take_one(directory: Path, prefix: str, capacity: int) -> int | None:
    """A held lock on one of ``capacity`` slot files, as an open descriptor; None if all taken."""
    for number in range(capacity):
        fd = os.open(directory / f"{prefix}-{number}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None


class _ServerSlots:
    """This process's descriptors of the server-wide slot files, opened once, and which of them
    its threads hold.

    Every upload looks for a free server slot, trying the files in turn; opening and closing
    each file it tried cost a few percent of an upload's CPU under a parallel load. So each file
    is opened once per process and kept open, at most ``capacity`` of them. A ``flock`` belongs to
    the open file, not to the thread: a second thread locking a descriptor its process already
    locked would succeed, so the threads of one process skip the slots their siblings hold.
    A forked process opens its own descriptors (those inherited share the parent's locks).
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._directory: Path | None = None
        self._pid = 0
        self._open: dict[int, int] = {}  # slot number: descriptor
        self._held: set[int] = set()

    def take(self, directory: Path, capacity: int) -> int | None:
        """The number of a slot now held, or None when every slot is taken."""
        with self._guard:
            self._follow(directory)
            for number in range(capacity):
                if number in self._held:
                    continue
                fd = self._open.get(number)
                if fd is None:
                    path = directory / f"server-{number}"
                    fd = self._open[number] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # held by another process
                self._held.add(number)
                return number
        return None

    def release(self, directory: Path, number: int) -> None:
        with self._guard:
            if directory == self._directory and number in self._held:
                fcntl.flock(self._open[number], fcntl.LOCK_UN)
                self._held.discard(number)

    def _follow(self, directory: Path) -> None:
        """Start afresh in a new process or for another uploads directory (a test's own)."""
        if self._pid == os.getpid() and self._directory == directory:
            return
        if self._pid == os.getpid():
            for fd in self._open.values():
                os.close(fd)
        self._open, self._held = {}, set()
        self._directory, self._pid = directory, os.getpid()


_SERVER_SLOTS = _ServerSlots()


def _busy(message: str) -> UploadRejected:
    return UploadRejected(503, message, retry_after=RETRY_AFTER_SECONDS)


@contextmanager
def upload_slot(address: str | None) -> Iterator[None]:
    """Hold a server-wide and a per-address slot while the body arrives and is checked."""
    directory = Path(settings.UPLOADS_DIR) / "slots"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    bucket = int.from_bytes(hashlib.sha256((address or "").encode()).digest()[:4], "big")
    with ExitStack() as held:
        per_address = settings.UPLOADS_IN_FLIGHT_PER_ADDRESS
        fd = _take_one(directory, f"address-{bucket % _ADDRESS_BUCKETS}", per_address)
        if fd is None:
            raise _busy(
                f"Too many uploads from your address at once (at most {per_address}). "
                f"Wait for one to finish and try again in {RETRY_AFTER_SECONDS} seconds."
            )
        held.callback(os.close, fd)
        number = _SERVER_SLOTS.take(directory, server_capacity())
        if number is None:
            raise _busy(
                "The server is busy receiving other uploads. "
                f"Try again in {RETRY_AFTER_SECONDS} seconds."
            )
        held.callback(_SERVER_SLOTS.release, directory, number)
        yield


@contextmanager
def checking_turn() -> Iterator[None]:
    """This process's turn to check and record a received upload (see the module docstring)."""
    with _CHECKING:
        yield
