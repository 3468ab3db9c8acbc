"""Reading an uploaded archive without trusting it.

An archive is attacker-supplied input that the index must open to find its metadata. Every read
is bounded: the number of members, the total uncompressed size and the compression ratio (zip
bombs), the size of the metadata file itself, and for sdists the gzip stream as it is inflated.
Wheels may only use STORED or DEFLATED members; tar members may not be sparse, devices, or links
that point outside the sdist's directory; no member may use an absolute path or ``..``.

A distribution is served to installers as it was uploaded, so it is inflated completely, once,
in a stream: every wheel member to check its CRC-32 and, where RECORD gives one, its hash and
size, and an sdist's gzip stream to its end, where gzip checks its own CRC-32. A corrupt file is
refused here rather than failing on every machine that installs it.
"""

import base64
import csv
import gzip
import hashlib
import io
import posixpath
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from bastion.upload.errors import UploadRejected

MAX_MEMBERS = 100_000
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
#: PyPI's zip-bomb rule: archives that inflate past this size may inflate at most ``MAX_RATIO``.
RATIO_CHECK_ABOVE_BYTES = 64 * 1024**2
MAX_RATIO = 50
MAX_METADATA_BYTES = 8 * 1024**2
#: RECORD lists every member (about 100 bytes a line), so it is allowed more than METADATA.
MAX_RECORD_BYTES = 32 * 1024**2
_CHUNK_BYTES = 1024 * 1024
#: The hashes a wheel's RECORD may use: the wheel spec forbids md5 and sha1.
RECORD_ALGORITHMS = frozenset(
    {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"}
)
#: What zipfile raises for archives it cannot read, besides BadZipFile: ``ValueError`` (with
#: ``UnicodeDecodeError``) for a central directory offset that points before the file or a
#: member name flagged UTF-8 that is not, ``NotImplementedError`` for "compressed patched data".
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    ValueError,
    OverflowError,
    struct.error,
)


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


def _read_bounded(stream: IO[bytes], path: str) -> bytes:  # an sdist's PKG-INFO
    data = stream.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise invalid(f"{path} is larger than {MAX_METADATA_BYTES // 1024**2} MiB.")
    return data


def _is_zip(source: IO[bytes]) -> bool:
    source.seek(0)
    result = zipfile.is_zipfile(source)
    source.seek(0)
    return result


def _is_tar(source: IO[bytes]) -> bool:
    source.seek(0)
    try:
        with tarfile.open(fileobj=source, mode="r:*"):
            return True
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        return False
    finally:
        source.seek(0)


@dataclass(frozen=True)
class _RecordEntry:
    """One hashed line of a wheel's RECORD: ``path,algorithm=urlsafe-b64-digest,size``."""

    algorithm: str
    digest: str  # as RECORD gives it: urlsafe base64 without padding (some tools write hex)
    size: int | None


def read_wheel(source: IO[bytes], size: int, name: str, version: str) -> Archive:
    """The wheel's ``<name>-<version>.dist-info/METADATA``, after checking every member."""
    if not _is_zip(source):
        raise invalid("File is not a zipfile.")
    if _is_tar(source):
        raise invalid("File is both a zip and a tar archive.")
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            _check_zip_members(members, size)
            names = [member.filename for member in members]
            dist_info = _dist_info_dir(names, name, version)
            for required in ("WHEEL", "RECORD", "METADATA"):
                if f"{dist_info}/{required}" not in names:
                    raise invalid(f"{required} not found at {dist_info}/{required}.")
            record_path = f"{dist_info}/RECORD"
            record_bytes = _read_member(archive, archive.getinfo(record_path), MAX_RECORD_BYTES)
            record = _parse_record(record_bytes, record_path)
            metadata_path = f"{dist_info}/METADATA"
            metadata = _verify_members(archive, members, record, record_path, metadata_path)
    except _ZIP_ERRORS as exc:
        raise invalid(f"The zip archive cannot be read: {exc}") from exc
    return Archive(metadata, metadata_path, frozenset(names), f"{dist_info}/licenses/")


def _check_zip_members(members: list[zipfile.ZipInfo], size: int) -> None:
    """What the central directory alone can tell: count, names, methods, inflated size."""
    if len(members) > MAX_MEMBERS:
        raise invalid(f"The archive has more than {MAX_MEMBERS} members.")
    names = [member.filename for member in members]
    if len(set(names)) != len(names):
        raise invalid("The archive lists a member more than once.")
    for member in members:
        _check_member_name(member.filename)
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise invalid("File does not use a supported compression type.")
        if member.flag_bits & 0x1:
            raise invalid(f"The archive member '{member.filename}' is encrypted.")
    _check_inflated_size(sum(member.file_size for member in members), size)


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, at most ``limit`` of them; zipfile checks the CRC at its end."""
    with archive.open(member) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise invalid(f"{member.filename} is larger than {limit // 1024**2} MiB.")
    return data


def _parse_record(data: bytes, record_path: str) -> dict[str, _RecordEntry]:
    """The hashed lines of RECORD by member name; lines without a hash (RECORD's own) are kept
    out, as the wheel spec allows."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise invalid(f"{record_path} cannot be read: {exc}") from exc
    entries: dict[str, _RecordEntry] = {}
    for row in rows:
        if not row:
            continue
        if len(row) != 3:
            raise invalid(f"{record_path} has a line that is not 'path,hash,size': {row!r}.")
        path, hash_text, size_text = row
        if not hash_text:
            continue
        algorithm, _, digest = hash_text.partition("=")
        if algorithm not in RECORD_ALGORITHMS or not digest:
            raise invalid(
                f"{record_path} gives '{path}' a hash '{algorithm}' that a wheel may not use; "
                "use sha256."
            )
        if size_text and not size_text.isdecimal():
            raise invalid(f"{record_path} gives '{path}' a size that is not a number.")
        entries[path] = _RecordEntry(
            algorithm, digest.rstrip("="), int(size_text) if size_text else None
        )
    return entries


def _verify_members(
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    record: dict[str, _RecordEntry],
    record_path: str,
    metadata_path: str,
) -> bytes:
    """Inflate every member once, checking its CRC-32 and its RECORD line; returns METADATA.

    Memory stays flat: only METADATA is kept, and it is bounded. The inflated total is already
    bounded by :func:`_check_inflated_size`, and zipfile never inflates past a member's size.
    """
    metadata = b""
    for member in members:
        entry = record.get(member.filename)
        digest = hashlib.new(entry.algorithm) if entry else None
        keep = member.filename == metadata_path
        try:
            inflated, kept = _inflate(archive, member, digest, keep)
        except _ZIP_ERRORS as exc:
            raise invalid(f"The archive member '{member.filename}' is corrupt: {exc}") from exc
        if entry is not None and digest is not None:
            _check_record_entry(member.filename, entry, digest, inflated, record_path)
        if keep:
            metadata = kept
    return metadata


def _inflate(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, digest, keep: bool
) -> tuple[int, bytes]:
    """Stream one member to its end (where zipfile checks the CRC-32), feeding ``digest``;
    returns the inflated size, and the bytes when ``keep`` (up to ``MAX_METADATA_BYTES``)."""
    inflated = 0
    kept: list[bytes] = []
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            inflated += len(chunk)
            if digest is not None:
                digest.update(chunk)
            if keep:
                if inflated > MAX_METADATA_BYTES:
                    raise invalid(
                        f"{member.filename} is larger than {MAX_METADATA_BYTES // 1024**2} MiB."
                    )
                kept.append(chunk)
    return inflated, b"".join(kept)


def _check_record_entry(
    path: str, entry: _RecordEntry, digest, inflated: int, record_path: str
) -> None:
    # The wheel spec says urlsafe base64; some build tools write hex (gmsh 4.15.2 on PyPI does),
    # which names the same bytes just as well, so both are accepted.
    actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    if entry.digest not in (actual, digest.hexdigest()):
        raise invalid(
            f"The archive member '{path}' does not match its {entry.algorithm} hash in "
            f"{record_path}."
        )
    if entry.size is not None and entry.size != inflated:
        raise invalid(
            f"The archive member '{path}' is {inflated} bytes, but {record_path} says {entry.size}."
        )


def _dist_info_dir(names: list[str], name: str, version: str) -> str:
    """The one ``.dist-info`` directory, which must be named after the wheel's filename."""
    expected = f"{name}-{version}.dist-info"
    found = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    if found != {expected}:
        raise invalid(f"The wheel must contain exactly one .dist-info directory, '{expected}'.")
    return expected


class _InflateLimit:
    """A read-only stream over gzip data that stops once it inflates past the limits."""

    def __init__(self, source: IO[bytes], compressed_size: int):
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


def read_sdist(source: IO[bytes], size: int, top: str) -> Archive:
    """The sdist's ``<top>/PKG-INFO``, after checking every member while inflating once."""
    if _is_zip(source):
        raise invalid("File is both a zip and a tar archive.")
    metadata_path = f"{top}/PKG-INFO"
    metadata = None
    names: set[str] = set()
    inflating = _InflateLimit(source, size)
    try:
        # typeshed asks every fileobj for write, seek, tell and close; stream mode "r|" only reads.
        with tarfile.open(fileobj=inflating, mode="r|") as archive:  # type: ignore[call-overload]
            for member in archive:
                if len(names) >= MAX_MEMBERS:
                    raise invalid(f"The archive has more than {MAX_MEMBERS} members.")
                member.name = member.name.removeprefix("./")
                _check_tar_member(member, top)
                names.add(member.name)
                if member.name == metadata_path and member.isfile():
                    stream = archive.extractfile(member)
                    metadata = _read_bounded(stream, metadata_path) if stream else None
        # tarfile stops at the end-of-archive blocks; gzip checks its CRC-32 and length only
        # at the end of the stream, so a corrupt sdist is only caught by reading to the end.
        while inflating.read(_CHUNK_BYTES):
            pass
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise invalid(f"The tar.gz archive cannot be read: {exc}") from exc
    if metadata is None:
        raise invalid(f"PKG-INFO not found at {metadata_path}.")
    return Archive(metadata, metadata_path, frozenset(names), f"{top}/")
