"""Reading an uploaded archive without trusting it.

An archive is attacker-supplied input that the index must open to find its metadata. Every read
is bounded: the number of members, the total uncompressed size and the compression ratio (zip
bombs), the size of the metadata file itself, and for sdists the gzip stream as it is inflated.
Wheels may only use STORED or DEFLATED members; tar members may not be sparse, devices, or links
that point outside the sdist's directory; no member may use an absolute path or ``..``.
"""

import gzip
import posixpath
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from bastion.upload.errors import UploadRejected

MAX_MEMBERS = 100_000
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
#: PyPI's zip-bomb rule: archives that inflate past this size may inflate at most ``MAX_RATIO``.
RATIO_CHECK_ABOVE_BYTES = 64 * 1024**2
MAX_RATIO = 50
MAX_METADATA_BYTES = 8 * 1024**2


@dataclass(frozen=True)
class Archive:
    """What the upload needs from inside a distribution."""

    metadata: bytes  # the exact METADATA or PKG-INFO bytes
    metadata_path: str  # where they were, for messages
    members: frozenset[str]
    license_dir: str  # License-File paths are relative to this member prefix

    def has_license_file(self, path: str) -> bool:
        return self.license_dir + path in self.members


def invalid(reason: str) -> UploadRejected:
    return UploadRejected(400, f"Invalid distribution file. {reason}")


def _check_member_name(name: str) -> None:
    if name.startswith("/") or "\\" in name or ".." in name.split("/"):
        raise invalid(f"The archive member '{name}' has an unsafe path.")


def _check_inflated_size(uncompressed: int, compressed: int) -> None:
    if uncompressed > MAX_UNCOMPRESSED_BYTES:
        raise invalid("The archive is too large when uncompressed.")
    if uncompressed > RATIO_CHECK_ABOVE_BYTES and uncompressed > MAX_RATIO * max(compressed, 1):
        raise invalid(f"File exceeds compression ratio of {MAX_RATIO}.")


def _read_bounded(stream: BinaryIO, path: str) -> bytes:
    data = stream.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise invalid(f"{path} is larger than {MAX_METADATA_BYTES // 1024**2} MiB.")
    return data


def _is_zip(source: BinaryIO) -> bool:
    source.seek(0)
    result = zipfile.is_zipfile(source)
    source.seek(0)
    return result


def _is_tar(source: BinaryIO) -> bool:
    source.seek(0)
    try:
        with tarfile.open(fileobj=source, mode="r:*"):
            return True
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        return False
    finally:
        source.seek(0)


def read_wheel(source: BinaryIO, size: int, name: str, version: str) -> Archive:
    """The wheel's ``<name>-<version>.dist-info/METADATA``, after checking the archive."""
    if not _is_zip(source):
        raise invalid("File is not a zipfile.")
    if _is_tar(source):
        raise invalid("File is both a zip and a tar archive.")
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise invalid(f"The archive has more than {MAX_MEMBERS} members.")
            names = [member.filename for member in members]
            if len(set(names)) != len(names):
                raise invalid("The archive lists a member more than once.")
            for member in members:
                _check_member_name(member.filename)
                if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise invalid("File does not use a supported compression type.")
            _check_inflated_size(sum(member.file_size for member in members), size)
            dist_info = _dist_info_dir(names, name, version)
            for required in ("WHEEL", "RECORD", "METADATA"):
                if f"{dist_info}/{required}" not in names:
                    raise invalid(f"{required} not found at {dist_info}/{required}.")
            metadata_path = f"{dist_info}/METADATA"
            with archive.open(metadata_path) as stream:
                metadata = _read_bounded(stream, metadata_path)
    # zipfile raises NotImplementedError for members it cannot read, e.g. "compressed patched data"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise invalid(f"The zip archive cannot be read: {exc}") from exc
    return Archive(metadata, metadata_path, frozenset(names), f"{dist_info}/licenses/")


def _dist_info_dir(names: list[str], name: str, version: str) -> str:
    """The one ``.dist-info`` directory, which must be named after the wheel's filename."""
    expected = f"{name}-{version}.dist-info"
    found = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    if found != {expected}:
        raise invalid(f"The wheel must contain exactly one .dist-info directory, '{expected}'.")
    return expected


class _InflateLimit:
    """A read-only stream over gzip data that stops once it inflates past the limits."""

    def __init__(self, source: BinaryIO, compressed_size: int):
        self._gzip = gzip.GzipFile(fileobj=source, mode="rb")
        self._compressed = compressed_size
        self._inflated = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._gzip.read(size if size >= 0 else 1024 * 1024)
        self._inflated += len(chunk)
        _check_inflated_size(self._inflated, self._compressed)
        return chunk


def _check_tar_member(member: tarfile.TarInfo, top: str) -> None:
    _check_member_name(member.name)
    if member.name != top and not member.name.startswith(top + "/"):
        raise invalid(f"Every member of the sdist must be inside one top-level directory, '{top}'.")
    if member.issparse():
        raise invalid(f"The archive member '{member.name}' is a sparse file.")
    if member.issym() or member.islnk():
        # A symlink is relative to its own directory; a hard link names another member.
        base = posixpath.dirname(member.name) if member.issym() else ""
        linkname = member.linkname if member.issym() else member.linkname.removeprefix("./")
        target = posixpath.normpath(posixpath.join(base, linkname))
        if member.linkname.startswith("/") or not target.startswith(top + "/"):
            raise invalid(f"The archive member '{member.name}' links outside the sdist.")
    elif not (member.isfile() or member.isdir()):
        raise invalid(f"The archive member '{member.name}' is not a file or directory.")


def read_sdist(source: BinaryIO, size: int, top: str) -> Archive:
    """The sdist's ``<top>/PKG-INFO``, after checking every member while inflating once."""
    if _is_zip(source):
        raise invalid("File is both a zip and a tar archive.")
    metadata_path = f"{top}/PKG-INFO"
    metadata = None
    names: set[str] = set()
    try:
        with tarfile.open(fileobj=_InflateLimit(source, size), mode="r|") as archive:
            for member in archive:
                if len(names) >= MAX_MEMBERS:
                    raise invalid(f"The archive has more than {MAX_MEMBERS} members.")
                member.name = member.name.removeprefix("./")
                _check_tar_member(member, top)
                names.add(member.name)
                if member.name == metadata_path and member.isfile():
                    stream = archive.extractfile(member)
                    metadata = _read_bounded(stream, metadata_path) if stream else None
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise invalid(f"The tar.gz archive cannot be read: {exc}") from exc
    if metadata is None:
        raise invalid(f"PKG-INFO not found at {metadata_path}.")
    return Archive(metadata, metadata_path, frozenset(names), f"{top}/")
