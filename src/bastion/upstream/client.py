"""Talking to the upstream index: fetch a project page, stream a file, with bounded waits.

The page comes as PEP 691 JSON when the upstream offers it, else as PEP 503 HTML; either way it
is reduced to ``Listing`` (the files with their sha256, requires-python, yanked and core-metadata
hash), with each file's address resolved against the page's own URL. Left out are files without
a sha256 (Bastion could not check their bytes), addresses that are not http(s), and files whose
name does not belong to the project, so an upstream page can never make one project's page offer
another project's file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

import urllib3
from django.conf import settings
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
USER_AGENT = "Bastion (upstream proxy; +https://github.com/)"
MAX_PAGE_BYTES = 64 * 1024 * 1024  # PyPI's largest pages are a few MB
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")


class UpstreamUnavailable(Exception):
    """The upstream could not be reached, timed out, or answered with an error."""


@dataclass(frozen=True)
class ListedFile:
    filename: str
    url: str
    sha256: str
    requires_python: str | None = None
    yanked: bool | str = False
    metadata_sha256: str | None = None
    size: int | None = None
    upload_time: str | None = None


@dataclass(frozen=True)
class Listing:
    files: list[ListedFile]
    status: str = "active"
    status_reason: str = ""


@dataclass(frozen=True)
class PageAnswer:
    """``listing`` on 200; ``not_modified`` on 304; ``not_found`` on 404/410."""

    listing: Listing | None = None
    etag: str = ""
    serial: int = 0
    not_modified: bool = False
    not_found: bool = False


_pools: dict[int, urllib3.PoolManager] = {}


def pool() -> urllib3.PoolManager:
    """One connection pool per process: uWSGI forks workers, sockets must not be shared."""
    pid = os.getpid()
    if pid not in _pools:
        _pools.clear()
        _pools[pid] = urllib3.PoolManager(
            num_pools=4,
            maxsize=8,
            timeout=urllib3.Timeout(
                connect=settings.UPSTREAM_CONNECT_TIMEOUT, read=settings.UPSTREAM_READ_TIMEOUT
            ),
            retries=urllib3.Retry(total=3, connect=0, read=0, status=0, other=0, redirect=3),
            headers={"User-Agent": USER_AGENT},
        )
    return _pools[pid]


def index_url() -> str:
    """``BASTION_UPSTREAM_URL`` without any ``user:password@``: what is requested and shown."""
    parts = urlsplit(settings.UPSTREAM_URL or "")
    if parts.username is None and parts.password is None:
        return settings.UPSTREAM_URL or ""
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=f"{netloc}:{parts.port}" if parts.port else netloc))


def page_url(normalized_name: str) -> str:
    return f"{index_url()}{normalized_name}/"


def _headers_for(url: str) -> dict[str, str]:
    """The headers of a request to ``url``: the User-Agent (headers given to a request replace
    the pool's own), and HTTP Basic credentials from ``BASTION_UPSTREAM_URL``'s
    ``user:password@`` (a private upstream, such as another organisation's index) for requests
    to that host only: a file the upstream lists on another host (PyPI's file host) never
    receives them, and urllib3 drops them on a redirect to another host."""
    headers = {"User-Agent": USER_AGENT}
    upstream = urlsplit(settings.UPSTREAM_URL or "")
    target = urlsplit(url)
    same_host = (target.scheme, target.hostname, target.port) == (
        upstream.scheme,
        upstream.hostname,
        upstream.port,
    )
    if upstream.username is not None and same_host:
        user, password = unquote(upstream.username), unquote(upstream.password or "")
        headers |= urllib3.make_headers(basic_auth=f"{user}:{password}")
    return headers


def fetch_page(
    normalized_name: str, etag: str = "", *, patience: float | None = None
) -> PageAnswer:
    """Ask the upstream for one project page, revalidating with ``etag`` when given.

    ``patience`` bounds each wait for the upstream (connecting, then between bytes) below the
    configured timeouts: a caller with a cached page to fall back on waits no longer.
    """
    url = page_url(normalized_name)
    headers = {**_headers_for(url), "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    timeout = None
    if patience is not None:
        timeout = urllib3.Timeout(
            connect=min(patience, settings.UPSTREAM_CONNECT_TIMEOUT),
            read=min(patience, settings.UPSTREAM_READ_TIMEOUT),
        )
    try:
        response = pool().request(
            "GET", url, headers=headers, preload_content=False, timeout=timeout
        )
    except urllib3.exceptions.HTTPError as error:
        raise UpstreamUnavailable(f"{url}: {_describe(error)}") from error
    try:
        if response.status == 304:
            return PageAnswer(etag=etag, not_modified=True)
        if response.status in (404, 410):
            return PageAnswer(not_found=True)
        if response.status != 200:
            raise UpstreamUnavailable(f"{url} answered {response.status}")
        body = _read_limited(response, MAX_PAGE_BYTES, url)
    finally:
        response.release_conn()
    base = response.url or url  # after redirects, relative links are relative to this
    base = urljoin(url, base)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/vnd.pypi.simple.v1+json":
            listing = _parse_json(json.loads(body), base, normalized_name)
        else:
            listing = _parse_html(body.decode("utf-8", "replace"), base, normalized_name)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise UpstreamUnavailable(f"{url} sent a page Bastion cannot read: {error}") from error
    serial = response.headers.get("X-PyPI-Last-Serial", "")
    return PageAnswer(
        listing=listing,
        etag=response.headers.get("ETag", ""),
        serial=int(serial) if serial.isdigit() else 0,
    )


def stream_file(url: str) -> Iterator[bytes]:
    """The bytes at ``url``, in chunks; raises ``UpstreamUnavailable`` on any failure."""
    try:
        response = pool().request("GET", url, headers=_headers_for(url), preload_content=False)
    except urllib3.exceptions.HTTPError as error:
        raise UpstreamUnavailable(f"{url}: {_describe(error)}") from error
    try:
        if response.status != 200:
            raise UpstreamUnavailable(f"{url} answered {response.status}")
        try:
            yield from response.stream(256 * 1024, decode_content=True)
        except urllib3.exceptions.HTTPError as error:
            raise UpstreamUnavailable(f"{url}: {_describe(error)}") from error
    finally:
        response.release_conn()


def _read_limited(response, limit: int, url: str) -> bytes:
    chunks, total = [], 0
    try:
        for chunk in response.stream(1024 * 1024, decode_content=True):
            total += len(chunk)
            if total > limit:
                raise UpstreamUnavailable(f"{url} sent a page larger than {limit} bytes")
            chunks.append(chunk)
    except urllib3.exceptions.HTTPError as error:
        raise UpstreamUnavailable(f"{url}: {_describe(error)}") from error
    return b"".join(chunks)


def _describe(error: Exception) -> str:
    reason = getattr(error, "reason", None)
    return str(reason or error) or type(error).__name__


def belongs_to(filename: str, normalized_name: str) -> bool:
    """Whether ``filename`` is a wheel or sdist of the project (and safe as a path part)."""
    if not _SAFE_FILENAME.fullmatch(filename):
        return False
    try:
        if filename.endswith(".whl"):
            name = parse_wheel_filename(filename)[0]
        else:
            name = parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return False
    return canonicalize_name(name) == normalized_name


def _fetchable(url: str) -> bool:
    """Only http(s) addresses: a page must not make Bastion open ``file:`` or other schemes."""
    return url.startswith(("https://", "http://"))


def _sha256(value) -> str | None:
    value = value.lower() if isinstance(value, str) else None
    return value if value and _SHA256.fullmatch(value) else None


def _metadata_hash(value) -> str | None:
    """The sha256 of ``core-metadata`` (or its older names); None when there is none to check."""
    if isinstance(value, dict):
        return _sha256(value.get("sha256"))
    return None


def _parse_json(document: dict, base: str, normalized_name: str) -> Listing:
    files = []
    for entry in document.get("files", []):
        filename = entry["filename"]
        sha256 = _sha256((entry.get("hashes") or {}).get("sha256"))
        url = urldefrag(urljoin(base, entry["url"]))[0]
        if sha256 is None or not belongs_to(filename, normalized_name) or not _fetchable(url):
            continue
        metadata = entry.get("core-metadata")
        if metadata is None:
            metadata = entry.get("data-dist-info-metadata", entry.get("dist-info-metadata"))
        yanked = entry.get("yanked", False)
        files.append(
            ListedFile(
                filename=filename,
                url=url,
                sha256=sha256,
                requires_python=entry.get("requires-python") or None,
                yanked=yanked if isinstance(yanked, str) and yanked else bool(yanked),
                metadata_sha256=_metadata_hash(metadata),
                size=entry["size"] if isinstance(entry.get("size"), int) else None,
                upload_time=entry.get("upload-time") or None,
            )
        )
    status = document.get("project-status") or {}
    return Listing(files, str(status.get("status", "active")), str(status.get("reason", "")))


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict] = []
        self.meta: dict[str, str] = {}
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self._current = {**attributes, "_text": ""}
            self.anchors.append(self._current)
        elif tag == "meta" and attributes.get("name"):
            self.meta[attributes["name"]] = attributes.get("content") or ""

    def handle_data(self, data):
        if self._current is not None:
            self._current["_text"] += data

    def handle_endtag(self, tag):
        if tag == "a":
            self._current = None


def _parse_html(text: str, base: str, normalized_name: str) -> Listing:
    parser = _Anchors()
    parser.feed(text)
    files = []
    for anchor in parser.anchors:
        url, fragment = urldefrag(urljoin(base, anchor["href"]))
        filename = anchor["_text"].strip() or url.rsplit("/", 1)[-1]
        algorithm, _, digest = fragment.partition("=")
        sha256 = _sha256(digest) if algorithm == "sha256" else None
        if sha256 is None or not belongs_to(filename, normalized_name) or not _fetchable(url):
            continue
        metadata = anchor.get("data-core-metadata", anchor.get("data-dist-info-metadata"))
        metadata_sha256 = None
        if metadata and metadata.startswith("sha256="):
            metadata_sha256 = _sha256(metadata[len("sha256=") :])
        yanked = anchor.get("data-yanked", False)
        size = anchor.get("data-size")
        files.append(
            ListedFile(
                filename=filename,
                url=url,
                sha256=sha256,
                requires_python=anchor.get("data-requires-python") or None,
                yanked=True if yanked is None or yanked == "" else yanked,
                metadata_sha256=metadata_sha256,
                size=int(size) if size and size.isdigit() else None,
                upload_time=anchor.get("data-upload-time") or None,
            )
        )
    return Listing(
        files,
        parser.meta.get("pypi:project-status", "active") or "active",
        parser.meta.get("pypi:project-status-reason", ""),
    )
