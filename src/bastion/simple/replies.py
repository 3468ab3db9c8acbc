"""The small response vocabulary of the read path, independent of Django.

The read path answers from plain WSGI (see ``readpath``), so it describes responses with
``Reply`` and leaves writing them to the WSGI adapter.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

STATUS_LINES = {
    200: "200 OK",
    206: "206 Partial Content",
    301: "301 Moved Permanently",
    302: "302 Found",
    304: "304 Not Modified",
    401: "401 Unauthorized",
    404: "404 Not Found",
    406: "406 Not Acceptable",
    416: "416 Range Not Satisfiable",
    429: "429 Too Many Requests",
    502: "502 Bad Gateway",
}

CHUNK = 256 * 1024

#: Sent with every read-path answer (pages, files, redirects, errors), which skips Django's
#: middleware and so the headers it adds to every other response. Browsers must not sniff a page
#: or a stored file into something active, nor frame it; a page loads nothing, so it may load
#: nothing. A constant, appended once per answer: the read path stays as fast as it was.
SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
]


class FileBody:
    """``length`` bytes of an open file from ``start``; closes the file when the server is done."""

    def __init__(self, file: BinaryIO, start: int, length: int, whole: bool):
        self.file, self.start, self.length, self.whole = file, start, length, whole

    def __iter__(self) -> Iterator[bytes]:
        self.file.seek(self.start)
        remaining = self.length
        while remaining > 0:
            chunk = self.file.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | FileBody = b""


def plain(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    """A short text/plain answer for errors people may read in a terminal."""
    body = f"{message}\n".encode()
    return Reply(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *(headers or []),
        ],
        body,
    )


def redirect(location: str) -> Reply:
    return plain(301, f"Moved permanently to {location}", [("Location", location)])


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison against any listed tag, or ``*``."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False
