"""Distribution files, addressed by content hash, in the data directory or an S3 bucket.

A file's key is ``ab/cd/<rest of blake2b-256>/<filename>``, the layout PyPI uses. An upload's
bytes are first written and fsynced under a private name in the staging directory (:func:`stage`),
which nothing serves. Only inside the transaction that inserts the file's row, after the unique
constraints have admitted it, are they given their public name (:func:`publish`); should that
transaction fail, they are taken back (:func:`withdraw`). So a refused or raced upload never gets a
public name, and a crash can leave at worst an unreferenced file (which ``bastion storage gc``
removes) but never a row that points at nothing.

Where public names live is the backend's business (``BASTION_STORAGE_URL``): the data directory
(:class:`LocalBackend`, the default) or an S3-compatible bucket
(:class:`bastion.packaging.storage_s3.S3Backend`). Staging is always local: it is private, and a
publish must not depend on an upload still arriving. The module functions below are what callers
use; they act on the configured backend.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import IO, BinaryIO, Protocol
from urllib.parse import urlsplit

from django.conf import settings

from bastion import datadir

METADATA_SUFFIX = ".metadata"
#: Keys of files fetched from the upstream index (``bastion.upstream``), which no upload's row
#: owns: that cache evicts and purges them itself.
UPSTREAM_PREFIX = "upstream/"
_CONTENT_TYPES = {
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".tar.gz": "application/gzip",  # the bytes as stored: no Content-Encoding, clients keep them
    METADATA_SUFFIX: "text/plain; charset=utf-8",
}


def key_for(blake2_256_hex: str, filename: str) -> str:
    digest = blake2_256_hex.lower()
    return f"{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"


def content_type_for(filename: str) -> str:
    """The Content-Type a stored file is served with, from its name."""
    for suffix, content_type in _CONTENT_TYPES.items():
        if filename.endswith(suffix):
            return content_type
    return "application/octet-stream"


@dataclass(frozen=True)
class StoredObject:
    """One stored file as the garbage collector sees it."""

    key: str  # the storage key, as a row holds it
    name: str  # where it is, for reports: a path in the data directory, or s3://bucket/object
    modified: float  # seconds since the epoch
    size: int
    partial: bool = False  # an interrupted write: nobody's, whatever its name


class Backend(Protocol):
    """Where published files live. Keys are checked by the caller (:func:`checked`)."""

    #: True if ``/files/<key>`` is answered by a redirect to :meth:`download_url`.
    serves_by_redirect: bool

    def publish(self, staged: Path, key: str) -> object:
        """Give staged bytes the public name ``key``; return a token for :meth:`withdraw`."""

    def withdraw(self, key: str, token: object, staged: Path) -> None:
        """Take back what :meth:`publish` placed, only if it is still our own bytes."""

    def store(self, key: str, source: BinaryIO) -> Path | None:
        """Place bytes at ``key`` at once (no staging): for files no upload transaction owns."""

    def exists(self, key: str) -> bool: ...

    def read(self, key: str) -> bytes: ...

    def delete(self, key: str) -> int | None:
        """Remove the public file at ``key``; its size, or None if there was none."""

    def download_url(self, key: str) -> str:
        """Where a client fetches ``key`` (only if :attr:`serves_by_redirect`)."""

    def withhold(self, group: str, keys: list[str]) -> None: ...

    def restore(self, group: str) -> None: ...

    def discard(self, group: str, keys: list[str]) -> None: ...

    def objects(self) -> Iterator[StoredObject]:
        """Every stored file, public and withheld, for the garbage collector."""

    def remove(self, stored: StoredObject) -> None: ...


@lru_cache(maxsize=8)
def _resolved(directory: str) -> str:
    return os.path.realpath(directory)


def checked(key: str) -> str:
    """The key, normalised; refused if it would lead out of the directory it is relative to.

    The check is on the text, with no system call: every download comes through here, and
    resolving the whole path took an lstat per component, almost half of a download's time.
    Bastion itself writes every file and directory under the root, so there are no symlinks in
    it to follow.
    """
    relative = os.path.normpath(key)
    if os.path.isabs(relative) or relative == "." or relative.split(os.sep, 1)[0] == "..":
        raise ValueError("storage key escapes the files directory")
    return relative


def checked_group(group: str) -> str:
    if os.sep in group or group in ("", ".", ".."):
        raise ValueError(f"not a storage group: {group!r}")
    return group


def local_path(key: str) -> Path:
    """Where the local backend keeps ``key``; refuses keys that would escape the directory."""
    return Path(_resolved(str(settings.FILES_DIR)), checked(key))


def _copy_into(source, fd: int) -> None:
    """Every byte of ``source`` into the open file ``fd`` (left open, not yet synced)."""
    with os.fdopen(fd, "wb", closefd=False) as out:
        source.seek(0)
        while chunk := source.read(1024 * 1024):
            out.write(chunk)


def _write_synced(source, fd: int, tmp: str) -> None:
    try:
        _copy_into(source, fd)
        os.fsync(fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


class LocalBackend:
    """Files in ``FILES_DIR`` (served by the read path with sendfile, or by nginx), withheld ones
    in ``WITHHELD_DIR``; both in the data directory, so every move is one atomic rename."""

    serves_by_redirect = False

    def store(self, key: str, source: BinaryIO) -> Path:
        target = local_path(key)
        datadir.make_public_dirs(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        _write_synced(source, fd, tmp)
        try:
            os.chmod(tmp, datadir.PUBLIC_FILE_MODE)  # mkstemp makes 0600; a static server reads
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def publish(self, staged: Path, key: str) -> int:
        """Rename the staged file into place; the token is its inode."""
        target = local_path(key)
        datadir.make_public_dirs(target.parent)
        os.chmod(staged, datadir.PUBLIC_FILE_MODE)  # mkstemp makes 0600; a static server reads
        try:
            os.replace(staged, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            with staged.open("rb") as source:  # staging on another file system: copy, rename
                self.store(key, source)
            staged.unlink()
        return os.stat(target).st_ino

    def withdraw(self, key: str, token: object, staged: Path) -> None:
        """Back to ``staged`` (a retry may publish them again), if the inode is still ours."""
        target = local_path(key)
        try:
            if os.stat(target).st_ino == token:
                os.replace(target, staged)
        except FileNotFoundError:
            return

    def exists(self, key: str) -> bool:
        return local_path(key).is_file()

    def read(self, key: str) -> bytes:
        return local_path(key).read_bytes()

    def delete(self, key: str) -> int | None:
        """Unlink the file, and its directory once empty (a content hash's own directory)."""
        path = local_path(key)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):
            path.parent.rmdir()
        return size

    def download_url(self, key: str) -> str:
        """Never asked: ``serves_by_redirect`` is False, so files.serve sends the bytes itself."""
        raise TypeError("the local backend serves files itself (files.serve)")

    def _withheld_root(self, group: str) -> Path:
        return Path(_resolved(str(settings.WITHHELD_DIR)), checked_group(group))

    def withhold(self, group: str, keys: list[str]) -> None:
        for key in keys:
            target = self._withheld_root(group) / checked(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(local_path(key), target)
            except FileNotFoundError:
                continue  # already withheld, or never stored

    def restore(self, group: str) -> None:
        root = self._withheld_root(group)
        if not root.is_dir():
            return
        for withheld in sorted(path for path in root.rglob("*") if path.is_file()):
            target = local_path(str(withheld.relative_to(root)))
            datadir.make_public_dirs(target.parent)
            os.replace(withheld, target)
        shutil.rmtree(root, ignore_errors=True)

    def discard(self, group: str, keys: list[str]) -> None:
        for key in keys:
            local_path(key).unlink(missing_ok=True)
            (self._withheld_root(group) / checked(key)).unlink(missing_ok=True)

    def objects(self) -> Iterator[StoredObject]:
        yield from _files_under(Path(settings.FILES_DIR))
        withheld = Path(settings.WITHHELD_DIR)
        if withheld.is_dir():
            for group in sorted(withheld.iterdir()):
                if group.is_dir():
                    yield from _files_under(group)

    def remove(self, stored: StoredObject) -> None:
        Path(settings.DATA_DIR, stored.name).unlink(missing_ok=True)


def _files_under(root: Path) -> Iterator[StoredObject]:
    if not root.is_dir():
        return
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            yield StoredObject(
                key=path.relative_to(root).as_posix(),
                name=os.path.relpath(path, settings.DATA_DIR),
                modified=info.st_mtime,
                size=info.st_size,
                partial=name.startswith(".incoming-"),
            )


_LOCAL = LocalBackend()
_remote: dict[tuple[str, str, int], Backend] = {}
_remote_lock = threading.Lock()


def backend() -> Backend:
    """The configured backend (``settings.STORAGE_URL``): one per process and configuration."""
    url = settings.STORAGE_URL
    if not url or url.startswith("file:"):
        return _LOCAL
    cache_key = (url, settings.FILES_URL, os.getpid())  # a forked worker makes its own client
    found = _remote.get(cache_key)
    if found is None:
        # Building a client takes tens of milliseconds and megabytes: a worker's first
        # concurrent requests wait for one instead of each building their own.
        with _remote_lock:
            found = _remote.get(cache_key)
            if found is None:
                from bastion.packaging.storage_s3 import S3Backend  # boto3 only when configured

                parts = urlsplit(url)
                found = S3Backend(parts.netloc, parts.path.strip("/"), files_url=settings.FILES_URL)
                _remote[cache_key] = found
    return found


def path_for(key: str) -> Path:
    """The local path of a key; refuses keys that would escape the files directory.

    Only the local backend has paths: with object storage use :func:`exists`, :func:`read`,
    :func:`store` (or ``backend().download_url``) instead.
    """
    if backend() is not _LOCAL:
        raise RuntimeError("stored files have no local path with BASTION_STORAGE_URL=s3://…")
    return local_path(key)


def store(key: str, source: BinaryIO) -> Path | None:
    """Place the bytes of ``source`` (a readable binary file) at ``key`` at once, atomically.

    For files that no upload transaction owns (e.g. fetched from an upstream index); uploads use
    :func:`stage` and :func:`publish`. Returns the local path with the local backend, else None.
    """
    return backend().store(checked(key), source)


def store_bytes(key: str, data: bytes) -> Path | None:
    return store(key, BytesIO(data))


def exists(key: str) -> bool:
    return backend().exists(checked(key))


def read(key: str) -> bytes:
    return backend().read(checked(key))


def delete(key: str) -> int | None:
    """Remove the file at ``key`` for good; its size, or None if there was none.

    For files no row owns and no transaction publishes (the upstream cache); uploads use
    :func:`withdraw` and :func:`discard`.
    """
    return backend().delete(checked(key))


def stage_all(sources: Sequence[IO[bytes]]) -> list[Path]:
    """Write each source to a new private file in the staging directory, all of them fsynced.

    Every file is written before the first is synced, so the file system flushes them in fewer
    journal commits than one write-and-sync after another (an upload stages its file and a
    wheel's METADATA: about a sixth less time in ``fsync`` here). All are staged, or none is left.
    """
    directory = Path(settings.UPLOAD_STAGING_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    opened: list[tuple[int, str]] = []
    try:
        for source in sources:
            opened.append(tempfile.mkstemp(dir=directory, prefix="staged-"))
            _copy_into(source, opened[-1][0])
        for fd, _ in opened:
            os.fsync(fd)
    except BaseException:
        for _, tmp in opened:
            Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        for fd, _ in opened:
            os.close(fd)
    return [Path(tmp) for _, tmp in opened]


def stage(source: IO[bytes]) -> Path:
    """Write the bytes of ``source`` to a new private file in the staging directory, fsynced."""
    return stage_all([source])[0]


def stage_bytes(data: bytes) -> Path:
    return stage(BytesIO(data))


def publish(staged: Path, key: str) -> object:
    """Give staged bytes their public name ``key``; return a token for :func:`withdraw`.

    Call it only once the row that owns ``key`` is inserted and holds the unique constraints on
    the filename and the digest, inside the transaction that commits that row: then no other
    upload can publish or withdraw the same key meanwhile. The staged file may remain (object
    storage copies it); the caller removes what is left in staging when it is done.
    """
    return backend().publish(staged, checked(key))


def withdraw(key: str, token: object, staged: Path) -> None:
    """Take back bytes that :func:`publish` placed at ``key`` when their row did not commit.

    The token makes sure only our own bytes are taken: once a failed transaction has released
    its locks, a rival upload of identical bytes may already have published the same key.
    """
    backend().withdraw(checked(key), token, staged)


def withhold(group: str, keys: list[str]) -> None:
    """Move files out of the public place, kept under ``group`` until :func:`restore`.

    Moving them, rather than refusing them in the read path, also keeps nginx, a CDN or the
    bucket's own URLs from handing them out.
    """
    backend().withhold(checked_group(group), [checked(key) for key in keys])


def restore(group: str) -> None:
    """Put every file withheld under ``group`` back where its URL serves it."""
    backend().restore(checked_group(group))


def discard(group: str, keys: list[str]) -> None:
    """Remove files for good, wherever they are: public, or withheld under ``group``."""
    backend().discard(checked_group(group), [checked(key) for key in keys])
