"""Tiny but valid distributions for the benchmark index, and the upload form that carries them.

Every file is built byte-for-byte reproducibly (fixed timestamps, sorted members), so a rerun
with the same size reuses what is on disk and every server receives identical bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

INDEX_VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0")
UPLOAD_VERSION = "3.0.0"  # the timed twine upload adds this release, so it never collides
ZIP_EPOCH = (2024, 1, 1, 0, 0, 0)
TAR_EPOCH = 1704067200


def project_name(number: int) -> str:
    """The name as written in metadata; PEP 503 normalizes it to ``bench-pkg-00001``."""
    return f"bench_pkg_{number:05d}"


def normalized(name: str) -> str:
    return name.replace("_", "-").lower()


@dataclass(frozen=True)
class Dist:
    """One distribution file on disk and the core metadata it carries."""

    path: Path
    name: str
    version: str
    filetype: str  # "bdist_wheel" or "sdist"

    @property
    def pyversion(self) -> str:
        return "py3" if self.filetype == "bdist_wheel" else "source"


def _metadata(name: str, version: str) -> str:
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {name}\n"
        f"Version: {version}\n"
        f"Summary: Benchmark project {name}, release {version}\n"
        "Author-email: Bench <bench@example.com>\n"
        "Requires-Python: >=3.8\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Description-Content-Type: text/plain\n"
        "\n"
        f"A generated project for the Bastion index benchmark ({name} {version}).\n"
    )


def _module(name: str, version: str) -> str:
    return f'"""Generated for the Bastion benchmark."""\n\n__version__ = "{version}"\n'


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_bytes(name: str, version: str) -> bytes:
    """A PEP 427 wheel with METADATA, WHEEL and a RECORD that hashes every member."""
    dist_info = f"{name}-{version}.dist-info"
    members = {
        f"{name}/__init__.py": _module(name, version).encode(),
        f"{dist_info}/METADATA": _metadata(name, version).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bastion-bench\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [_record_line(path, data) for path, data in members.items()]
    members[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def sdist_bytes(name: str, version: str) -> bytes:
    """A PEP 625 sdist: one top-level ``name-version/`` directory holding PKG-INFO."""
    root = f"{name}-{version}"
    members = {
        f"{root}/PKG-INFO": _metadata(name, version).encode(),
        f"{root}/pyproject.toml": (
            f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = '
            f'"setuptools.build_meta"\n\n[project]\nname = "{name}"\nversion = "{version}"\n'
        ).encode(),
        f"{root}/{name}/__init__.py": _module(name, version).encode(),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in sorted(members.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), TAR_EPOCH, 0o644
            info.uname = info.gname = "bench"
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _write(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def build_index(target: Path, projects: int) -> list[Dist]:
    """The loaded index: ``projects`` times the five versions, one wheel per release."""
    target.mkdir(parents=True, exist_ok=True)
    dists = []
    for number in range(1, projects + 1):
        name = project_name(number)
        for version in INDEX_VERSIONS:
            path = target / f"{name}-{version}-py3-none-any.whl"
            if not path.exists():
                _write(path, wheel_bytes(name, version))
            dists.append(Dist(path, name, version, "bdist_wheel"))
    return dists


def build_upload_set(target: Path, files: int) -> list[Dist]:
    """The timed upload: a new release (wheel + sdist) for the first ``files // 2`` projects."""
    target.mkdir(parents=True, exist_ok=True)
    dists = []
    for number in range(1, files // 2 + 1):
        name = project_name(number)
        wheel = target / f"{name}-{UPLOAD_VERSION}-py3-none-any.whl"
        sdist = target / f"{name}-{UPLOAD_VERSION}.tar.gz"
        _write(wheel, wheel_bytes(name, UPLOAD_VERSION))
        _write(sdist, sdist_bytes(name, UPLOAD_VERSION))
        dists += [
            Dist(wheel, name, UPLOAD_VERSION, "bdist_wheel"),
            Dist(sdist, name, UPLOAD_VERSION, "sdist"),
        ]
    return dists


def upload_form(dist: Dist) -> tuple[dict[str, str | list[str]], dict[str, tuple]]:
    """The legacy upload form (the fields twine sends) for one file: data and files parts."""
    content = dist.path.read_bytes()
    data = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": dist.name,
        "version": dist.version,
        "summary": f"Benchmark project {dist.name}, release {dist.version}",
        "author_email": "Bench <bench@example.com>",
        "requires_python": ">=3.8",
        "classifiers": ["Programming Language :: Python :: 3"],
        "description_content_type": "text/plain",
        "description": f"A generated project for the Bastion index benchmark "
        f"({dist.name} {dist.version}).\n",
        "filetype": dist.filetype,
        "pyversion": dist.pyversion,
        "md5_digest": hashlib.md5(content, usedforsecurity=False).hexdigest(),
        "sha256_digest": hashlib.sha256(content).hexdigest(),
        "blake2_256_digest": hashlib.blake2b(content, digest_size=32).hexdigest(),
    }
    files = {"content": (dist.path.name, content, "application/octet-stream")}
    return data, files
