"""Distribution files on disk, addressed by content hash.

A file's key is ``ab/cd/<rest of blake2b-256>/<filename>``, the layout PyPI uses. An upload's
bytes are first written and fsynced under a private name in the staging directory (:func:`stage`),
which nothing serves. Only inside the transaction that inserts the file's row, after the unique
constraints have admitted it, are they renamed to their public name (:func:`publish`); should that
transaction fail, they are taken back (:func:`withdraw`). So a refused or raced upload never gets a
public name, and a crash can leave at worst an unreferenced file (which ``bastion storage gc``
removes) but never a row that points at nothing.
"""

import errno
import os
import shutil
import tempfile
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from django.conf import settings

from bastion import datadir


def key_for(blake2_256_hex: str, filename: str) -> str:
    digest = blake2_256_hex.lower()
    return f"{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"


@lru_cache(maxsize=8)
def _resolved(directory: str) -> str:
    return os.path.realpath(directory)


def _checked(key: str) -> str:
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


def path_for(key: str) -> Path:
    """The absolute path of a key; refuses keys that would escape the files directory."""
    return Path(_resolved(str(settings.FILES_DIR)), _checked(key))


def store(key: str, source) -> Path:
    """Atomically place the bytes of ``source`` (a readable binary file) at ``key``."""
    target = path_for(key)
    datadir.make_public_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    _write_synced(source, fd, tmp)
    try:
        os.chmod(tmp, datadir.PUBLIC_FILE_MODE)  # mkstemp makes 0600; a static server may serve it
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def store_bytes(key: str, data: bytes) -> Path:
    return store(key, BytesIO(data))


def _write_synced(source, fd: int, tmp: str) -> None:
    try:
        with os.fdopen(fd, "wb") as out:
            source.seek(0)
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stage(source) -> Path:
    """Write the bytes of ``source`` to a new private file in the staging directory, fsynced."""
    directory = Path(settings.UPLOAD_STAGING_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="staged-")
    _write_synced(source, fd, tmp)
    return Path(tmp)


def stage_bytes(data: bytes) -> Path:
    return stage(BytesIO(data))


def publish(staged: Path, key: str) -> int:
    """Give staged bytes their public name ``key``; return the inode, for :func:`withdraw`.

    Call it only once the row that owns ``key`` is inserted and holds the unique constraints on
    the filename and the digest, inside the transaction that commits that row: then no other
    upload can publish or withdraw the same key meanwhile.
    """
    target = path_for(key)
    datadir.make_public_dirs(target.parent)
    os.chmod(staged, datadir.PUBLIC_FILE_MODE)  # mkstemp makes 0600; a static server may serve it
    try:
        os.replace(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        store(key, staged.open("rb"))  # staging on another file system: copy, then rename
        staged.unlink()
    return os.stat(target).st_ino


def withdraw(key: str, inode: int, staged: Path) -> None:
    """Take back bytes that :func:`publish` placed at ``key`` when their row did not commit.

    They go back to ``staged`` (a retry may publish them again). The inode check makes sure only
    our own bytes are taken: once a failed transaction has released its locks, a rival upload of
    identical bytes may already have published the same key.
    """
    target = path_for(key)
    try:
        if os.stat(target).st_ino == inode:
            os.replace(target, staged)
    except FileNotFoundError:
        return


def _withheld_root(group: str) -> Path:
    if os.sep in group or group in ("", ".", ".."):
        raise ValueError(f"not a storage group: {group!r}")
    return Path(_resolved(str(settings.WITHHELD_DIR)), group)


def _withheld_path(group: str, key: str) -> Path:
    return _withheld_root(group) / _checked(key)


def withhold(group: str, keys: list[str]) -> None:
    """Move files out of the served directory, kept under ``group`` until :func:`restore`.

    Moving them, rather than refusing them in the read path, also keeps nginx or a CDN origin
    serving ``FILES_DIR`` directly from handing them out. Both directories are in the data
    directory, so each move is one atomic rename.
    """
    for key in keys:
        target = _withheld_path(group, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path_for(key), target)
        except FileNotFoundError:
            continue  # already withheld, or never stored


def restore(group: str) -> None:
    """Put every file withheld under ``group`` back where its URL serves it."""
    root = _withheld_root(group)
    if not root.is_dir():
        return
    for withheld in sorted(path for path in root.rglob("*") if path.is_file()):
        target = path_for(str(withheld.relative_to(root)))
        datadir.make_public_dirs(target.parent)
        os.replace(withheld, target)
    shutil.rmtree(root, ignore_errors=True)


def discard(group: str, keys: list[str]) -> None:
    """Remove files for good, wherever they are: served, or withheld under ``group``."""
    for key in keys:
        path_for(key).unlink(missing_ok=True)
        _withheld_path(group, key).unlink(missing_ok=True)
