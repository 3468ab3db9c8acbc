"""The read path: ``/simple/…`` and ``/files/…`` answered in front of Django.

Installers send thousands of page and file requests per resolve, so these two prefixes bypass
Django's middleware and URL resolver entirely. ``ReadPath`` wraps the Django WSGI application:
GET and HEAD under the two prefixes are answered here, everything else goes to Django.

A page request costs one ``stat`` when the page is in this process's cache: entries are keyed by
the file's (inode, mtime, size), and a re-render replaces the file by rename, so every worker
process sees a change as soon as the render that followed the commit has finished. The database
is read only when a page is missing (first request, or a name that may be unknown) and is never
written by this path.
"""

import os
import re
import threading
from dataclasses import dataclass
from hashlib import sha256

from django.core.signals import request_finished, request_started

from bastion.operations.metrics import read_path_counts
from bastion.packaging.services import is_valid_project_name, normalize
from bastion.simple import files, negotiation, services
from bastion.simple.replies import (
    SECURITY_HEADERS,
    STATUS_LINES,
    FileBody,
    Reply,
    etag_matches,
    plain,
    redirect,
)

# Pages may be re-fetched at any time; the ETag makes revalidation a cheap 304.
PAGE_CACHE_CONTROL = "max-age=0, must-revalidate"
_SERIAL = re.compile(rb'(?:<!--SERIAL |"_last-serial":)([0-9]+)')
_PAGE_FILES = {
    negotiation.V1_JSON: services.JSON_PAGE,
    negotiation.V1_HTML: services.HTML_PAGE,
    negotiation.TEXT_HTML: services.HTML_PAGE,
}
count_request = read_path_counts.count  # per-thread ints: see bastion.operations.metrics
_NOT_ACCEPTABLE = "Not Acceptable: this index offers " + ", ".join(negotiation.OFFERS)


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

    def get(self, path: str) -> Page | None:
        try:
            info = os.stat(path)
        except FileNotFoundError:
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


class ReadPath:
    """WSGI middleware: answers the index's read traffic, hands the rest to ``app``."""

    def __init__(self, app, cache: PageCache | None = None):
        self.app = app
        self.cache = cache or PageCache()

    def __call__(self, environ: dict, start_response):
        method = environ.get("REQUEST_METHOD")
        path = _path_info(environ)
        if method in ("GET", "HEAD") and path is not None:
            if path == "/simple" or path.startswith("/simple/"):
                reply = self.simple(environ, path)
                count_request("simple", reply.status)
                return _send(reply, environ, start_response)
            if path.startswith("/files/"):
                reply = files.serve(environ, path[len("/files/") :])
                count_request("files", reply.status)
                return _send(reply, environ, start_response)
        return self.app(environ, start_response)

    def simple(self, environ: dict, path: str) -> Reply:
        """``/simple/`` and ``/simple/<name>/``, with PEP 503 redirects and PEP 691 negotiation."""
        query = environ.get("QUERY_STRING", "")
        suffix = f"?{query}" if query else ""
        script = environ.get("SCRIPT_NAME", "")
        if path == "/simple":
            return redirect(f"{script}/simple/{suffix}")
        name, slash, rest = path[len("/simple/") :].partition("/")
        if rest or (name and not is_valid_project_name(name)):
            return plain(404, "Not Found")
        if name and (not slash or normalize(name) != name):
            return redirect(f"{script}/simple/{normalize(name)}/{suffix}")
        media_type = negotiation.choose(environ.get("HTTP_ACCEPT"), negotiation.format_param(query))
        if media_type is None:
            return plain(406, _NOT_ACCEPTABLE, [("Vary", "Accept")])
        page = self.page(name or None, _PAGE_FILES[media_type])
        if page is None:
            return plain(404, f"Not Found: no project named {name!r}")
        headers = [
            ("ETag", page.etag),
            ("Vary", "Accept"),
            ("Cache-Control", PAGE_CACHE_CONTROL),
            ("X-PyPI-Last-Serial", page.serial),
            ("Access-Control-Allow-Origin", "*"),
        ]
        if etag_matches(environ.get("HTTP_IF_NONE_MATCH"), page.etag):
            return Reply(304, headers)
        headers += [("Content-Type", media_type), ("Content-Length", str(len(page.body)))]
        return Reply(200, headers, page.body)

    def page(self, name: str | None, page_file: str) -> Page | None:
        """The page from the cache or the tree, rendering it from the database if missing."""
        root = services.live_root()  # plain strings: pathlib would cost more than the stat
        path = f"{root}/{page_file}" if name is None else f"{root}/{name}/{page_file}"
        page = self.cache.get(path)
        if page is None:
            # Django's request signals manage the connection (open lazily, closed when done).
            request_started.send(sender=ReadPath)
            try:
                exists = services.render_project(name) if name else _render_root()
            finally:
                request_finished.send(sender=ReadPath)
            page = self.cache.get(path) if exists else None
        return page


def _render_root() -> bool:
    services.render_root()
    return True


def _path_info(environ: dict) -> str | None:
    """PATH_INFO as text: WSGI hands over the raw bytes decoded as latin-1."""
    try:
        return environ.get("PATH_INFO", "").encode("latin-1").decode()
    except UnicodeError:
        return None


def _send(reply: Reply, environ: dict, start_response):
    start_response(STATUS_LINES[reply.status], reply.headers + SECURITY_HEADERS)
    body = reply.body
    head = environ.get("REQUEST_METHOD") == "HEAD"
    if isinstance(body, FileBody):
        if head:
            body.close()
            return []
        wrapper = environ.get("wsgi.file_wrapper")
        if body.whole and wrapper is not None:  # lets the server use sendfile(2)
            return wrapper(body.file, 256 * 1024)
        return body
    return [] if head else [body]
