"""Rendered pages held in memory, keyed by their file's identity on disk.

Shared by the read path (``/simple/``) and the stored JSON API, so neither reads a page file
again until a render has replaced it.
"""

import os
import re
import threading
from dataclasses import dataclass
from hashlib import sha256

# Pages may be re-fetched at any time; the ETag makes revalidation a cheap 304.
PAGE_CACHE_CONTROL = "max-age=0, must-revalidate"
_SERIAL = re.compile(rb'(?:<!--SERIAL |"_last-serial":)([0-9]+)')


@dataclass(frozen=True)
class Page:
    body: bytes
    etag: str
    serial: str


class PageCache:
    """Page bytes by path, valid while the file's (inode, mtime, size) is unchanged.

    Bounded by total bytes; the oldest entries go first. Safe to share between threads.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._entries: dict[str, tuple[tuple[int, int, int], Page]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, path: str, modified_since: float | None = None) -> Page | None:
        """The page at ``path``; None if missing, or last modified before ``modified_since``."""
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None
        if modified_since is not None and info.st_mtime < modified_since:
            return None
        entry = self._entries.get(path)
        if entry is not None and entry[0] == (info.st_ino, info.st_mtime_ns, info.st_size):
            return entry[1]
        return self._load(path)

    def _load(self, path: str) -> Page | None:
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())  # the identity of exactly the bytes we read
                body = handle.read()
        except FileNotFoundError:
            return None
        match = _SERIAL.search(body)
        page = Page(body, f'"{sha256(body).hexdigest()}"', match[1].decode() if match else "0")
        with self._lock:
            old = self._entries.pop(path, None)
            if old is not None:
                self._bytes -= len(old[1].body)
            self._entries[path] = ((info.st_ino, info.st_mtime_ns, info.st_size), page)
            self._bytes += len(body)
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                oldest = next(iter(self._entries))
                self._bytes -= len(self._entries.pop(oldest)[1].body)
        return page
