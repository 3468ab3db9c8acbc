"""The read path: ``/simple/…`` and ``/files/…`` answered in front of Django.

Installers send thousands of page and file requests per resolve, so these two prefixes bypass
Django's middleware and URL resolver entirely. ``ReadPath`` wraps the Django WSGI application:
GET and HEAD under the two prefixes are answered here, everything else goes to Django.

A page request costs one ``stat`` when the page is in this process's cache: entries are keyed by
the file's (inode, mtime, size). A change removes its project's pages and marks the project list
stale after its commit (``services.mark_stale``), so every worker process sees the change at once
and the first read renders the pages (once, however many ask). The database is read only when a
page is missing (first request, a change, or a name that may be unknown) and is never
written by this path, except to count a failed authentication on a private index and to cache
what the upstream index (``bastion.upstream``) lists for a name not hosted here.

With ``BASTION_READ_ACCESS=authenticated`` every page and file first asks
``bastion.web.read_access.check``, the same question Django's views ask; a token checked in the
last few seconds costs no query (``bastion.tokens.reads``).

Several servers (``BASTION_STORAGE_URL=s3://…``) each keep their own page tree, and a change made
through one server is rendered only by that one. There :class:`SerialCheck` makes every server
compare its page's serial with the database's before serving it: the latest serial is read at
most every ``PAGES_SERIAL_SECONDS``, and a project's own serial only when the latest has moved
since its page was last confirmed, so a quiet index costs one small query per interval.
"""

import os
import re
from contextlib import contextmanager
from hashlib import sha256
from time import monotonic

from django.conf import settings
from django.core.signals import request_finished, request_started

from bastion.operations.metrics import read_path_counts
from bastion.packaging.models import Project
from bastion.packaging.services import is_valid_project_name, last_serial, normalize
from bastion.simple import files, negotiation, rootlist, services
from bastion.simple.pagecache import PAGE_CACHE_CONTROL, Page, PageCache
from bastion.simple.replies import (
    SECURITY_HEADERS,
    STATUS_LINES,
    FileBody,
    Reply,
    etag_matches,
    plain,
    redirect,
)
from bastion.upstream import reads as upstream_reads
from bastion.web import read_access

_PAGE_FILES = {
    negotiation.V1_JSON: services.JSON_PAGE,
    negotiation.V1_HTML: services.HTML_PAGE,
    negotiation.TEXT_HTML: services.HTML_PAGE,
}
count_request = read_path_counts.count  # per-thread ints: see bastion.operations.metrics
_NOT_ACCEPTABLE = "Not Acceptable: this index offers " + ", ".join(negotiation.OFFERS)
#: A valid project name already in its normalized form (PEP 503), which is what installers ask
#: for: one match instead of checking validity and normalizing on every page request.
_NORMALIZED_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class RootPageCache:
    """The project list's pages, joined from its blocks (``rootlist``) once per change.

    Valid while the list's manifest file is unchanged: one ``stat``, as for any other page.
    """

    def __init__(self):
        self._entries: dict[str, tuple[tuple[int, int, int], Page]] = {}

    def get(self, root: str, page_file: str) -> Page | None:
        try:
            info = os.stat(f"{root}/{rootlist.LIST_DIR}/{rootlist.MANIFEST}")
        except FileNotFoundError:
            return None
        entry = self._entries.get(page_file)
        if entry is not None and entry[0] == (info.st_ino, info.st_mtime_ns, info.st_size):
            return entry[1]
        assembled = rootlist.assemble(root, page_file)
        if assembled is None:
            return None
        identity, body, serial = assembled
        page = Page(body, f'"{sha256(body).hexdigest()}"', str(serial))
        self._entries[page_file] = (identity, page)  # one assignment: safe between threads
        return page


class SerialCheck:
    """Whether a page rendered by this server is still current, when other servers write too."""

    def __init__(self, interval: float):
        self.interval = interval
        self._latest = -1
        self._read_at = float("-inf")
        # page name ("" for the project list): the latest serial at which it was found current
        self._confirmed: dict[str, int] = {}

    def current(self, name: str | None, page_serial: str) -> bool:
        latest = self._latest_serial()
        if self._confirmed.get(name or "") == latest:
            return True
        wanted: int | None
        if name is None:
            wanted = latest
        else:
            with _django_request():
                wanted = (
                    Project.objects.filter(normalized_name=name)
                    .values_list("last_serial", flat=True)
                    .first()
                )
        if wanted is None or int(page_serial) < wanted:
            return False  # changed elsewhere (or deleted): render again
        self._confirmed[name or ""] = latest
        return True

    def _latest_serial(self) -> int:
        if monotonic() - self._read_at >= self.interval:
            with _django_request():
                self._latest = last_serial()
            self._read_at = monotonic()
        return self._latest


class ReadPath:
    """WSGI middleware: answers the index's read traffic, hands the rest to ``app``."""

    def __init__(self, app, cache: PageCache | None = None, serials: SerialCheck | None = None):
        self.app = app
        self.cache = cache or PageCache()
        self.root_cache = RootPageCache()
        if serials is None and settings.PAGES_FOLLOW_SERIAL:
            serials = SerialCheck(settings.PAGES_SERIAL_SECONDS)
        self.serials = serials

    def __call__(self, environ: dict, start_response):
        method = environ.get("REQUEST_METHOD")
        path = _path_info(environ)
        if method in ("GET", "HEAD") and path is not None:
            if path == "/simple" or path.startswith("/simple/"):
                reply = self.read(environ, self.simple, path)
                count_request("simple", reply.status)
                return _send(reply, environ, start_response)
            if path.startswith("/files/"):
                key = path[len("/files/") :]
                if key.startswith("upstream/"):  # cached from the upstream index
                    reply = self.read(environ, upstream_reads.serve_file, key)
                else:
                    reply = self.read(environ, files.serve, key)
                count_request("files", reply.status)
                return _send(reply, environ, start_response)
        return self.app(environ, start_response)

    def read(self, environ: dict, answer, target: str) -> Reply:
        """``answer(environ, target)``, if this request may read (``BASTION_READ_ACCESS``)."""
        if not read_access.is_private():
            return answer(environ, target)
        verdict = read_access.check(
            environ,
            signed_in=lambda: read_access.session_signed_in(environ, _django_request),
            database=_django_request,
        )
        if not verdict.allowed:
            return plain(verdict.status, verdict.message, verdict.headers)
        return _private(answer(environ, target))

    def simple(self, environ: dict, path: str) -> Reply:
        """``/simple/`` and ``/simple/<name>/``, with PEP 503 redirects and PEP 691 negotiation."""
        query = environ.get("QUERY_STRING", "")
        suffix = f"?{query}" if query else ""
        script = environ.get("SCRIPT_NAME", "")
        if path == "/simple":
            return redirect(f"{script}/simple/{suffix}")
        name, slash, rest = path[len("/simple/") :].partition("/")
        if rest:
            return plain(404, "Not Found")
        if name and not (slash and _NORMALIZED_NAME.fullmatch(name)):
            if not is_valid_project_name(name):
                return plain(404, "Not Found")
            if not slash or normalize(name) != name:
                return redirect(f"{script}/simple/{normalize(name)}/{suffix}")
        media_type = negotiation.choose(
            environ.get("HTTP_ACCEPT"), negotiation.format_param(query) if query else None
        )
        if media_type is None:
            return plain(406, _NOT_ACCEPTABLE, [("Vary", "Accept")])
        page_file = _PAGE_FILES[media_type]
        root = services.live_root()  # plain strings: pathlib would cost more than the stat
        if name:
            page = self.cache.get(f"{root}/{name}/{page_file}")
        else:
            page = self.root_cache.get(root, page_file)
        if (
            page is not None
            and self.serials
            and not self.serials.current(name or None, page.serial)
        ):
            page = None  # changed through another server since this one rendered it
        extra_headers: list[tuple[str, str]] = []
        if page is None:  # not hosted here, not rendered yet, or changed elsewhere
            found = self.missing_page(name or None, page_file, root)
            if isinstance(found, Reply):
                return found
            page, extra_headers = found
        etag = page.etag
        if media_type == negotiation.V1_HTML:  # the text/html page's bytes, another Content-Type
            etag = f'{etag[:-1]}-v1"'
        headers = [
            ("ETag", etag),
            ("Vary", "Accept"),
            ("Cache-Control", PAGE_CACHE_CONTROL),
            ("X-PyPI-Last-Serial", page.serial),
            ("Access-Control-Allow-Origin", "*"),
            *extra_headers,
        ]
        if etag_matches(environ.get("HTTP_IF_NONE_MATCH"), etag):
            return Reply(304, headers)
        headers += [("Content-Type", media_type), ("Content-Length", str(len(page.body)))]
        return Reply(200, headers, page.body)

    def missing_page(
        self, name: str | None, page_file: str, root: str
    ) -> Reply | tuple[Page, list]:
        """Not in the local tree: a fresh page cached from the upstream (one more ``stat``),
        else rendered from the database, else (a name not hosted here) from the upstream."""
        upstream = name if name is not None and upstream_reads.enabled() else None
        if upstream is not None:
            page = upstream_reads.fresh_page(self.cache, root, upstream, page_file)
            if page is not None:
                return page, [(upstream_reads.HEADER, upstream_reads.Outcome.CACHED.value)]
        with _django_request():
            page = self.rendered_page(name, page_file)
            if page is None and upstream is not None:
                return upstream_reads.refreshed_page(
                    self.cache, upstream, page_file, self.rendered_page
                )
        if page is None:
            return plain(404, f"Not Found: no project named {name!r}")
        return page, []

    def rendered_page(self, name: str | None, page_file: str) -> Page | None:
        """The local page, rendered from the database if missing or stale; None for unknown
        names. Call with the database available (inside the request signals)."""
        root = services.live_root()
        if name is None:
            return services.current_root(
                lambda: self._current(None, self.root_cache.get(root, page_file))
            )
        path = f"{root}/{name}/{page_file}"
        return services.current_project(name, lambda: self._current(name, self.cache.get(path)))

    def _current(self, name: str | None, page: Page | None) -> Page | None:
        """``page``, unless changed through another server since this one rendered it."""
        if page is None or (self.serials and not self.serials.current(name, page.serial)):
            return None
        return page


@contextmanager
def _django_request():
    """Django's request signals around a query: they open the connection lazily and close it."""
    request_started.send(sender=ReadPath)
    try:
        yield
    finally:
        request_finished.send(sender=ReadPath)


def _private(reply: Reply) -> Reply:
    """On a private index no shared cache may keep a page or a file for others: ``private``."""
    for index, (name, value) in enumerate(reply.headers):
        if name == "Cache-Control":
            value = value.replace("public, ", "")
            reply.headers[index] = (name, value if "private" in value else f"private, {value}")
    return reply


def _path_info(environ: dict) -> str | None:
    """PATH_INFO as text: WSGI hands over the raw bytes decoded as latin-1."""
    path = environ.get("PATH_INFO", "")
    if path.isascii():  # what installers send: the same text either way
        return path
    try:
        return path.encode("latin-1").decode()
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
