"""Writing the page tree safely: an exclusive lock per directory, and files replaced by rename.

A reader in any process sees either the old file or the new one, never a torn one. A render holds
the ``flock`` of the directory it writes while it reads the database and writes, so two renders
(an upload's, and a lazy render in another worker) cannot let an older read overwrite a newer page:
whoever takes the lock last also read last.
"""

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bastion import datadir


@contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """Hold the directory's exclusive ``flock`` (shared by every process on this machine)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` by rename, readable by a static server."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".render-")
    try:
        with os.fdopen(fd, "wb") as out:  # no fsync: a page is a cache of the database
            out.write(data)
        os.chmod(tmp, datadir.PUBLIC_FILE_MODE)  # mkstemp makes 0600; a static server serves it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
