"""The upstream index behind Bastion: pages, files, names, and the cache that holds them.

**Pages.** A project page fetched from the upstream is rendered in Bastion's own formats (the same
``render`` code as local pages) into ``PAGES_DIR/<format>/upstream/<name>/``, beside the local
tree, with every file URL pointing at Bastion (``/files/upstream/<sha256>/<filename>``). The
page file's mtime is its last refresh: the read path serves it with one ``stat`` while it is
younger than ``UPSTREAM_PAGE_TTL``, then revalidates it with the upstream's ETag.

**Files.** On its first request a listed file is fetched, hashed while it streams to a temporary
file, compared with the sha256 the upstream listed (a mismatch is refused and not kept), and
placed with ``packaging.storage.store`` at ``upstream/<sha256>/<filename>``: under ``FILES_DIR``,
or in the bucket with ``BASTION_STORAGE_URL=s3://…``, where every server finds it. From then on
it is served from storage with no database query (on disk) or redirected to the bucket after one
``HEAD`` (a bucket). The URL is the storage key, so a static server in front of ``FILES_DIR``, or a
CDN in front of the bucket, serves cached upstream files too. On disk the cache cap evicts the
least recently used files first (by access time); a bucket keeps no access time, so there the
least recently fetched go first.

**Dependency confusion.** A name hosted here is never served from the upstream: the read path
asks the upstream only when no local page exists and the database has no such project; an
upstream page is written only while (under its lock) no local project has the name; creating a
local project records its name for good in the same transaction (``record_hosted_name``); and
after that commit whatever was cached for the name is deleted (``forget_when_hosted_here``). Names
matching ``UPSTREAM_EXCLUDE`` are never asked for upstream at all, which also keeps an
organisation's private names from leaking to the upstream in requests.

One fetch per page and per file across every worker process: each takes an ``flock`` on one of
a fixed set of lock files (chosen by a hash of the name or file), then checks again whether
another process did the work while it waited.
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.utils import timezone
from packaging.utils import InvalidVersion, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from bastion import datadir
from bastion.events import services as events
from bastion.packaging import storage
from bastion.packaging.models import Project
from bastion.packaging.services import normalize
from bastion.simple import render
from bastion.simple import services as simple_services
from bastion.upstream import client
from bastion.upstream.models import AllowedName, HostedName, UpstreamFile, UpstreamProject

logger = logging.getLogger(__name__)

HEADER = "X-Bastion-Upstream"
FILES_PREFIX = storage.UPSTREAM_PREFIX
METADATA_SUFFIX = ".metadata"
_LOCK_STRIPES = 256
_ABSENT_SECONDS = 60  # an upstream 404 is remembered this long (and never longer than the TTL)
#: After the upstream failed to refresh a cached page, it is not asked again about that page for
#: this long: every request meanwhile gets the cached page at once instead of waiting on it.
_RETRY_UNREACHABLE_SECONDS = 30


class Refused(Exception):
    """An upstream request Bastion answers with an error: ``status`` and a message people read."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Outcome(enum.StrEnum):
    """How a page was obtained; the value is the ``X-Bastion-Upstream`` header."""

    CACHED = "cached"
    FETCHED = "fetched"
    REVALIDATED = "revalidated"
    STALE = "stale"
    LOCAL = "local"  # the name became a local project meanwhile: serve the local page


def enabled() -> bool:
    return bool(settings.UPSTREAM_URL)


# -- names ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _exclude_patterns(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """Patterns normalized like names (``Acme_*`` → ``acme-*``), so both sides compare alike."""
    return tuple(normalize(pattern) for pattern in patterns)


def excluded(normalized_name: str) -> bool:
    """Whether ``BASTION_UPSTREAM_EXCLUDE`` keeps this name from ever coming from the upstream."""
    if not settings.UPSTREAM_EXCLUDE:
        return False
    patterns = _exclude_patterns(tuple(settings.UPSTREAM_EXCLUDE))
    return any(fnmatchcase(normalized_name, pattern) for pattern in patterns)


def _formerly_hosted_message(normalized_name: str) -> str:
    return (
        f"Not Found: '{normalized_name}' was hosted here and was deleted; a name once hosted here "
        "never comes from the upstream index"
    )


def exclusion_message(normalized_name: str) -> str:
    return (
        f"Not Found: '{normalized_name}' is not hosted here, and names matching "
        f"BASTION_UPSTREAM_EXCLUDE ({', '.join(settings.UPSTREAM_EXCLUDE)}) never come from the "
        "upstream index"
    )


def upstream_clash(name: str) -> str | None:
    """Why a new local project may not take ``name``: the upstream has it; None if it may.

    Called when a name is about to be created here. Excluded names are the organisation's own and
    are never looked up upstream; names an admin allowed (``bastion names allow``) pass. When the
    upstream cannot be asked and nothing is cached, the name is refused (fail closed). A name
    hosted here before (and deleted) is the organisation's own and may be created again.
    """
    if not enabled():
        return None
    normalized = normalize(name)
    if excluded(normalized) or AllowedName.objects.filter(normalized_name=normalized).exists():
        return None
    if HostedName.objects.filter(normalized_name=normalized).exists():
        return None  # hosted here before: the organisation's own name, created again
    try:
        known = exists_upstream(normalized)
    except Refused as refused:
        return (
            f"The name '{name}' cannot be checked against the upstream index "
            f"({client.index_url()}) right now: {refused.message}. Try again later."
        )
    if not known:
        return None
    return (
        f"The name '{name}' exists on the upstream index ({client.page_url(normalized)}): a "
        f"project here would shadow '{normalized}' for everyone who installs through this index. "
        f"Choose another name, or ask an admin to allow it with "
        f"`bastion names allow {normalized} --reason …`."
    )


def exists_upstream(normalized_name: str) -> bool:
    """Whether the upstream lists the name; a page cached at any age counts as yes."""
    if os.path.exists(page_path(normalized_name, simple_services.JSON_PAGE)):
        return True
    outcome = refresh_page(normalized_name, ignore_local=True)
    return outcome is not None


def allow_name(name: str, *, reason: str, allowed_by: str = "") -> AllowedName:
    """Let a local project take a name the upstream has too (recorded, with a security event)."""
    normalized = normalize(name)
    if not reason.strip():
        raise ValueError("Say why the name may be created here; the reason is kept.")
    with transaction.atomic():
        allowed, _ = AllowedName.objects.update_or_create(
            normalized_name=normalized,
            defaults={"reason": reason.strip(), "allowed_by": allowed_by},
        )
        events.record(
            "upstream:name-allowed", name=normalized, reason=reason.strip(), by=allowed_by
        )
    return allowed


# -- pages ---------------------------------------------------------------------------------------


def pages_root() -> str:
    """Beside the local tree, under the same format directory (a format bump drops both)."""
    return f"{os.fspath(settings.PAGES_DIR)}/{simple_services.tree_name()}/upstream"


def page_path(normalized_name: str, page_file: str) -> str:
    return f"{pages_root()}/{normalized_name}/{page_file}"


def fresh_page_path(normalized_name: str, page_file: str) -> str | None:
    """The cached page's path if it is younger than the TTL: one ``stat``, no database."""
    path = page_path(normalized_name, page_file)
    try:
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    return path if age < settings.UPSTREAM_PAGE_TTL else None


def refresh_page(normalized_name: str, *, ignore_local: bool = False) -> Outcome | None:
    """Make the cached page current; None when the upstream has no such project.

    Raises ``Refused`` for excluded names (404) and when the upstream cannot be reached and
    nothing is cached (502). With an unreachable upstream and a cached page, the page stays and
    the outcome is ``STALE``.
    """
    if excluded(normalized_name):
        raise Refused(404, exclusion_message(normalized_name))
    absent_key = f"upstream:absent:{normalized_name}"
    if cache.get(absent_key):
        return None
    have_page = os.path.exists(page_path(normalized_name, simple_services.JSON_PAGE))
    unreachable_key = f"upstream:unreachable:{normalized_name}"
    if have_page and cache.get(unreachable_key):
        return Outcome.STALE  # the upstream failed moments ago: do not wait on it again
    # With a page to serve, nobody queues behind a refresh already under way: they get the page.
    with _stripe_lock("page", normalized_name, wait=not have_page) as locked:
        if not locked:
            return Outcome.STALE
        if fresh_page_path(normalized_name, simple_services.JSON_PAGE) is not None:
            return Outcome.CACHED  # another process refreshed it while this one waited
        if not ignore_local and Project.objects.filter(normalized_name=normalized_name).exists():
            return Outcome.LOCAL
        if not ignore_local and HostedName.objects.filter(normalized_name=normalized_name).exists():
            raise Refused(404, _formerly_hosted_message(normalized_name))
        have_page = os.path.exists(page_path(normalized_name, simple_services.JSON_PAGE))
        row = UpstreamProject.objects.filter(normalized_name=normalized_name).first()
        etag = row.etag if row is not None and have_page else ""
        patience = settings.UPSTREAM_CONNECT_TIMEOUT if have_page else None
        try:
            answer = client.fetch_page(normalized_name, etag, patience=patience)
        except client.UpstreamUnavailable as error:
            if have_page:
                logger.warning(
                    "upstream unavailable, serving cached %s: %s", normalized_name, error
                )
                cache.set(unreachable_key, 1, _RETRY_UNREACHABLE_SECONDS)
                return Outcome.STALE
            raise Refused(
                502,
                f"Bad Gateway: '{normalized_name}' is not hosted here and the upstream index "
                f"could not be reached ({error})",
            ) from error
        if answer.not_found:
            cache.set(absent_key, 1, min(_ABSENT_SECONDS, settings.UPSTREAM_PAGE_TTL))
            _drop_pages(normalized_name)
            return None
        if answer.not_modified:
            _touch_pages(normalized_name)
            UpstreamProject.objects.filter(normalized_name=normalized_name).update(
                refreshed_at=timezone.now()
            )
            return Outcome.REVALIDATED
        if not ignore_local and Project.objects.filter(normalized_name=normalized_name).exists():
            return Outcome.LOCAL  # created while the upstream answered: write nothing
        _save_listing(normalized_name, answer)
        return Outcome.FETCHED


def _save_listing(normalized_name: str, answer: client.PageAnswer) -> None:
    """Rows first, then the pages: a page never lists a file Bastion could not fetch."""
    listing = answer.listing
    if listing is None:  # a 200 answer always has one; 304, 404 and 410 are not saved
        raise ValueError(f"The upstream answer for '{normalized_name}' has no listing to save.")
    listed = {file.filename: file.sha256 for file in listing.files}
    with transaction.atomic():
        project, _ = UpstreamProject.objects.update_or_create(
            normalized_name=normalized_name,
            defaults={"etag": answer.etag, "serial": answer.serial, "refreshed_at": timezone.now()},
        )
        # Files the upstream no longer lists (removed, or withheld by a quarantine) are no longer
        # served, and bytes a filename no longer names (replaced upstream) are no longer kept.
        dropped = [
            (row.pk, row.sha256, row.filename)
            for row in project.files.only("pk", "sha256", "filename")
            if listed.get(row.filename) != row.sha256
        ]
        UpstreamFile.objects.filter(pk__in=[pk for pk, _, _ in dropped]).update(
            stored_bytes=0, stored_at=None
        )
        project.files.exclude(filename__in=listed).delete()
        UpstreamFile.objects.bulk_create(
            [
                UpstreamFile(
                    project=project,
                    filename=file.filename,
                    sha256=file.sha256,
                    url=file.url,
                    size=file.size,
                    metadata_sha256=file.metadata_sha256 or "",
                )
                for file in listing.files
            ],
            update_conflicts=True,
            unique_fields=["project", "filename"],
            update_fields=["sha256", "url", "size", "metadata_sha256"],
        )
    for _, sha256, filename in dropped:
        _delete_cached(sha256, filename)
    document = page_document(normalized_name, listing, answer.serial)
    directory = Path(pages_root()) / normalized_name
    datadir.make_public_dirs(directory)
    _write_atomic(directory / simple_services.JSON_PAGE, render.json_bytes(document))
    _write_atomic(directory / simple_services.HTML_PAGE, render.project_html(document))


def page_document(normalized_name: str, listing: client.Listing, serial: int) -> dict:
    """The PEP 691 document of an upstream project, with every file served by Bastion."""
    status = {"status": listing.status}
    if listing.status_reason:
        status["reason"] = listing.status_reason
    versions = sorted({v for v in map(_version_of, listing.files) if v is not None})
    return {
        "meta": {"api-version": render.API_VERSION, "_last-serial": serial},
        "name": normalized_name,
        "project-status": status,
        "versions": [str(v) for v in versions],
        "files": [_file_entry(file) for file in listing.files],
    }


def _file_entry(file: client.ListedFile) -> dict:
    core_metadata = {"sha256": file.metadata_sha256} if file.metadata_sha256 else False
    entry: dict[str, object] = {
        "filename": file.filename,
        "url": render.file_url(file_key(file.sha256, file.filename)),
        "hashes": {"sha256": file.sha256},
        "requires-python": file.requires_python,
        "yanked": file.yanked,
        "core-metadata": core_metadata,
        "data-dist-info-metadata": core_metadata,
    }
    if file.size is not None:
        entry["size"] = file.size
    if file.upload_time:
        entry["upload-time"] = file.upload_time
    return entry


def _version_of(file: client.ListedFile) -> Version | None:
    try:
        if file.filename.endswith(".whl"):
            return parse_wheel_filename(file.filename)[1]
        return parse_sdist_filename(file.filename)[1]
    except (ValueError, InvalidVersion):
        return None


def _touch_pages(normalized_name: str) -> None:
    for page in (simple_services.JSON_PAGE, simple_services.HTML_PAGE):
        with suppress(FileNotFoundError):
            os.utime(page_path(normalized_name, page))


def _drop_pages(normalized_name: str) -> None:
    for page in (simple_services.JSON_PAGE, simple_services.HTML_PAGE):
        Path(page_path(normalized_name, page)).unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upstream-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, datadir.PUBLIC_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- files ---------------------------------------------------------------------------------------


def file_key(sha256: str, filename: str) -> str:
    """Where a fetched file is stored, and (after ``/files/``) the URL it is served at."""
    return f"{FILES_PREFIX}{sha256}/{filename}"


def ensure_file(sha256: str, filename: str) -> str:
    """Fetch and keep a listed file (or its ``.metadata``) unless stored; returns its key.

    Raises ``Refused``: 404 for anything no cached upstream page lists, 502 when the upstream
    cannot deliver it or delivers other bytes than the sha256 it listed (nothing is kept then).
    """
    key = file_key(sha256, filename)
    if storage.exists(key):
        return key
    metadata = filename.endswith(METADATA_SUFFIX)
    distribution = filename.removesuffix(METADATA_SUFFIX) if metadata else filename
    same_name = OuterRef("project__normalized_name")
    row = (
        UpstreamFile.objects.select_related("project")
        .annotate(  # one query: the first fetch's time is the upstream's plus little
            hosted=Exists(HostedName.objects.filter(normalized_name=same_name))
            | Exists(Project.objects.filter(normalized_name=same_name))
        )
        .filter(sha256=sha256, filename=distribution)
        .first()
    )
    if row is None or (metadata and not row.metadata_sha256):
        raise Refused(404, "Not Found")
    name = row.project.normalized_name
    if row.hosted or excluded(name):
        raise Refused(404, f"Not Found: '{name}' is not served from the upstream index")
    expected = row.metadata_sha256 if metadata else row.sha256
    url = f"{row.url}{METADATA_SUFFIX}" if metadata else row.url
    with _stripe_lock("file", key):
        if storage.exists(key):
            return key  # another process fetched it while this one waited
        size = _fetch_verified(url, expected, key, limit=None if metadata else row.size)
        still_listed = UpstreamFile.objects.filter(pk=row.pk, sha256=row.sha256).update(
            stored_bytes=F("stored_bytes") + size, stored_at=timezone.now()
        )
        if not still_listed:  # a refresh dropped or replaced it while this fetched: not kept
            storage.delete(key)
            raise Refused(404, "Not Found")
    if settings.UPSTREAM_CACHE_BYTES:
        evict_to_cap(settings.UPSTREAM_CACHE_BYTES)
    return key


_USE_RESOLUTION = 3600.0  # a file's last use is recorded to the hour, not on every download


def note_use(key: str) -> None:
    """Record that a cached file was served, in its access time (the LRU order of eviction).

    Set explicitly, so it works on ``noatime`` mounts, and at most once an hour per file, so a
    popular file costs one ``stat`` per download and one ``utime`` per hour. A bucket keeps no
    access time: nothing is noted there.
    """
    if storage.backend().serves_by_redirect:
        return
    path = storage.local_path(key)
    try:
        info = os.stat(path)
        now = time.time()
        if now - info.st_atime > _USE_RESOLUTION:
            os.utime(path, (now, info.st_mtime))  # the mtime (Last-Modified) stays
    except FileNotFoundError:
        pass


def evict_to_cap(cap: int) -> int:
    """Delete the least recently used upstream files until the cache holds at most ``cap``
    bytes; returns the bytes freed. A dropped file is fetched again on its next request."""
    total = UpstreamFile.objects.aggregate(total=Sum("stored_bytes"))["total"] or 0
    if total <= cap:
        return 0
    freed = 0
    with _stripe_lock("evict", "all"):
        stored = list(UpstreamFile.objects.filter(stored_bytes__gt=0))
        for file in sorted(stored, key=_last_use):
            if total - freed <= cap:
                break
            _delete_cached(file.sha256, file.filename)
            UpstreamFile.objects.filter(pk=file.pk).update(stored_bytes=0, stored_at=None)
            freed += file.stored_bytes
    return freed


def _delete_cached(sha256: str, filename: str) -> tuple[int, int]:
    """Delete a file's cached bytes and its ``.metadata``; how many files and bytes went."""
    removed = removed_bytes = 0
    for name in (filename, f"{filename}{METADATA_SUFFIX}"):
        size = storage.delete(file_key(sha256, name))
        if size is not None:
            removed += 1
            removed_bytes += size
    return removed, removed_bytes


def _last_use(file: UpstreamFile) -> float:
    """When the file was last served (on disk), or fetched (in a bucket, which has no atime)."""
    if storage.backend().serves_by_redirect:
        return file.stored_at.timestamp() if file.stored_at else 0.0
    try:
        return storage.local_path(file_key(file.sha256, file.filename)).stat().st_atime
    except FileNotFoundError:
        return 0.0


def _fetch_verified(url: str, expected: str, key: str, limit: int | None) -> int:
    filename = key.rpartition("/")[2]
    incoming = Path(settings.DATA_DIR) / "upstream" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with tempfile.TemporaryFile(dir=incoming) as spool:
        try:
            for chunk in client.stream_file(url):
                size += len(chunk)
                if limit is not None and size > limit:
                    raise Refused(
                        502,
                        f"Bad Gateway: {filename} from the upstream index is larger than the "
                        f"{limit} bytes it listed; it was not kept",
                    )
                digest.update(chunk)
                spool.write(chunk)
        except client.UpstreamUnavailable as error:
            raise Refused(
                502, f"Bad Gateway: the upstream index could not deliver {filename} ({error})"
            ) from error
        if digest.hexdigest() != expected:
            logger.warning("upstream %s: sha256 %s, listed %s", url, digest.hexdigest(), expected)
            raise Refused(
                502,
                f"Bad Gateway: {filename} from the upstream index does not match the sha256 it "
                f"listed (listed {expected}, received {digest.hexdigest()}); it was not "
                "kept",
            )
        storage.store(key, spool)
    return size


# -- the cache -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purged:
    name: str
    files: int
    bytes: int


def purge(name: str) -> Purged:
    """Drop a cached upstream project: its pages, its stored files and its rows."""
    normalized = normalize(name)
    with _stripe_lock("page", normalized):
        _drop_pages(normalized)
        project = UpstreamProject.objects.filter(normalized_name=normalized).first()
        if project is None:
            return Purged(normalized, 0, 0)
        removed = removed_bytes = 0
        for file in project.files.all():
            count, size = _delete_cached(file.sha256, file.filename)
            removed += count
            removed_bytes += size
        project.delete()
    cache.delete(f"upstream:absent:{normalized}")
    return Purged(normalized, removed, removed_bytes)


def record_hosted_name(*, instance: Project, raw: bool = False, **_signal_kwargs) -> None:
    """``post_save`` receiver of ``Project``: a name hosted here is recorded as such for good, so
    it never comes from the upstream, even after the project is deleted.

    It runs in the transaction that creates (or renames) the project, so the name is recorded
    exactly when the project commits, with no write transaction of its own, and nothing reads it
    again on later changes. One statement, which does nothing for a name known already. A
    fixture being loaded (``raw``) brings its own rows.
    """
    if not raw:
        HostedName.objects.bulk_create(
            [HostedName(normalized_name=instance.normalized_name)], ignore_conflicts=True
        )


def forget_when_hosted_here(*, normalized_name: str, status: str = "", **_signal_kwargs) -> None:
    """``project_changed`` receiver: a name hosted here loses whatever the upstream cache held.

    Runs after the commit that created (or changed) the local project, so a page refresh that
    read the database before the commit and wrote after it is undone here (both hold the page's
    lock); any refresh that starts after the commit sees the local project and writes nothing.
    A ``status`` (read under the project's lock by the change: an upload) says the project
    was there at the commit, without asking again.
    """
    if not enabled():
        return
    if not status and not Project.objects.filter(normalized_name=normalized_name).exists():
        return  # deleted: its name stays a hosted name (record_hosted_name)
    cached = UpstreamProject.objects.filter(normalized_name=normalized_name)
    if os.path.isdir(f"{pages_root()}/{normalized_name}") or cached.exists():
        purge(normalized_name)


@contextmanager
def _stripe_lock(kind: str, name: str, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive ``flock`` shared by every process, on one of a fixed set of lock files.

    Yields whether it is held: always when ``wait``; without, False if another holds it.
    """
    stripe = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % _LOCK_STRIPES
    directory = Path(settings.DATA_DIR) / "upstream" / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f"{kind}-{stripe}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
