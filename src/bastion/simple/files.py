"""Serving stored distributions and their ``.metadata`` files.

Every download of a file passes through ``serve``: it is the one place to observe downloads.
Files are immutable (their key is their content hash), so they carry a year-long immutable
``Cache-Control`` and an ETag made from that hash. Single byte ranges are honoured, because uv
reads a wheel's central directory with HEAD plus Range requests when it has no ``.metadata``.
With object storage (``BASTION_STORAGE_URL=s3://…``) the answer is a redirect to the bucket (a
presigned URL) or to its CDN (``BASTION_FILES_URL``), and the store handles ranges.
"""

import os
import re
import stat
from email.utils import formatdate, parsedate_to_datetime

from bastion.downloads.recorder import record_download
from bastion.packaging import storage
from bastion.simple.replies import FileBody, Reply, etag_matches, plain

METADATA_SUFFIX = storage.METADATA_SUFFIX
# ab/cd/<60 more hex digits>/<filename>: exactly what storage.key_for produces.
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/[^/]+")
_RANGE = re.compile(r"bytes=\s*(?P<first>[0-9]*)\s*-\s*(?P<last>[0-9]*)\s*")
_IMMUTABLE = "public, max-age=31536000, immutable"


class _Unsatisfiable(Exception):
    pass


def serve(environ: dict, key: str) -> Reply:
    """Answer GET or HEAD for ``/files/<key>`` (a distribution or its ``.metadata``)."""
    filename = key.rpartition("/")[2]
    if not _KEY.fullmatch(key) or filename.startswith("."):  # dot files are in-flight uploads
        return plain(404, "Not Found")
    return serve_stored(environ, key, key[:66].replace("/", ""))  # the blake2b-256 in the key


def serve_stored(environ: dict, key: str, digest: str, source: str = "") -> Reply:
    """Answer GET or HEAD for a stored file whose key is already checked; ``digest`` (a content
    hash) makes its ETag. Also serves the files cached from the upstream index (``source``
    then counts their downloads in a class of their own)."""
    filename = key.rpartition("/")[2]
    backend = storage.backend()
    if backend.serves_by_redirect:
        return _redirect(environ, key, backend.download_url(key), source)
    try:
        handle = open(storage.local_path(key), "rb")  # noqa: SIM115 - the reply body closes it
    except (ValueError, OSError):
        return plain(404, "Not Found")
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        return plain(404, "Not Found")
    size = info.st_size
    kind = "-metadata" if key.endswith(METADATA_SUFFIX) else ""
    etag = f'"{digest}{kind}"'
    last_modified = formatdate(info.st_mtime, usegmt=True)
    headers = [
        ("Content-Type", storage.content_type_for(filename)),
        ("Accept-Ranges", "bytes"),
        ("ETag", etag),
        ("Last-Modified", last_modified),
        ("Cache-Control", _IMMUTABLE),
    ]  # and replies.SECURITY_HEADERS, as on every read-path answer
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if etag_matches(if_none_match, etag) or (
        if_none_match is None and _unmodified_since(environ.get("HTTP_IF_MODIFIED_SINCE"), info)
    ):
        handle.close()
        return Reply(304, headers)
    byte_range = None
    if_range = environ.get("HTTP_IF_RANGE")
    if if_range is None or if_range.strip() in (etag, last_modified):
        try:
            byte_range = _byte_range(environ.get("HTTP_RANGE"), size)
        except _Unsatisfiable:
            handle.close()
            return plain(416, "Range Not Satisfiable", [("Content-Range", f"bytes */{size}")])
    if byte_range is None:
        headers.append(("Content-Length", str(size)))
        if not kind and environ.get("REQUEST_METHOD") == "GET":  # HEAD, .metadata: no download
            record_download(filename, environ.get("HTTP_USER_AGENT"), source=source)
        return Reply(200, headers, FileBody(handle, 0, size, whole=True))
    start, end = byte_range
    headers += [
        ("Content-Length", str(end - start + 1)),
        ("Content-Range", f"bytes {start}-{end}/{size}"),
    ]
    return Reply(206, headers, FileBody(handle, start, end - start + 1, whole=False))


def _unmodified_since(header: str | None, info: os.stat_result) -> bool:
    """RFC 9110 13.1.3: the file has not changed since the client's copy; a date that does not
    parse is ignored. Only asked when the request has no ``If-None-Match``, which wins."""
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:  # a date without a zone is not HTTP's: never trust it
        return False
    return int(info.st_mtime) <= since.timestamp()


def _redirect(environ: dict, key: str, location: str, source: str = "") -> Reply:
    """With object storage the bytes come from the bucket or its CDN, never through here; the
    download is counted on this request, as it would be on a 200 from local storage.

    The redirect is not cached by shared caches: a presigned URL expires, and a cache answering
    for the index would skip counting.
    """
    if not key.endswith(METADATA_SUFFIX) and environ.get("REQUEST_METHOD") == "GET":
        record_download(key.rpartition("/")[2], environ.get("HTTP_USER_AGENT"), source=source)
    headers = [("Location", location), ("Cache-Control", "private, no-store")]
    return Reply(302, [*headers, ("Content-Length", "0")], b"")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a single ``bytes=`` range; None means "send it all".

    Malformed headers and multiple ranges are ignored (RFC 9110 allows serving the whole file);
    a well-formed range that lies outside the file raises ``_Unsatisfiable``.
    """
    match = _RANGE.fullmatch(header or "")
    if match is None or not (match["first"] or match["last"]):
        return None
    if not match["first"]:  # suffix range: the last N bytes
        suffix = int(match["last"])
        if suffix == 0 or size == 0:
            raise _Unsatisfiable
        return max(0, size - suffix), size - 1
    start = int(match["first"])
    last = int(match["last"]) if match["last"] else size - 1
    if match["last"] and last < start:
        return None
    if start >= size:
        raise _Unsatisfiable
    return start, min(last, size - 1)
