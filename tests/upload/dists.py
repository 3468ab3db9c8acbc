"""Hand-built wheels and sdists, and the upload form a client would send for them.

Everything is built in memory with zipfile and tarfile, so a test can break exactly one thing
(drop RECORD, lie about a digest, add a License-File) and see exactly one refusal.
"""

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from packaging.utils import canonicalize_name

#: Every member gets the same timestamp, so building a distribution twice gives the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class Dist:
    filename: str
    content: bytes
    filetype: str
    pyversion: str
    fields: dict[str, object] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def blake2_256(self) -> str:
        return hashlib.blake2b(self.content, digest_size=32).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()

    def form(self, **overrides) -> dict[str, object]:
        """The multipart form twine would send; ``None`` in ``overrides`` drops a field."""
        data = {
            ":action": "file_upload",
            "protocol_version": "1",
            "filetype": self.filetype,
            "pyversion": self.pyversion,
            "sha256_digest": self.sha256,
            "blake2_256_digest": self.blake2_256,
            **self.fields,
            "content": SimpleUploadedFile(
                self.filename, self.content, content_type="application/octet-stream"
            ),
        }
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}


def metadata_text(
    name: str, version: str, metadata_version: str = "2.1", headers=(), description: str = ""
) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"{key}: {value}" for key, value in headers]
    return "\n".join(lines) + "\n\n" + description


def form_fields(name: str, version: str, metadata_version: str, headers) -> dict[str, object]:
    """The metadata part of the form, named as PyPI documents (classifiers, project_urls...)."""
    plural = {"classifier": "classifiers", "project_url": "project_urls"}
    fields: dict[str, object] = {
        "metadata_version": metadata_version,
        "name": name,
        "version": version,
    }
    for key, value in headers:
        form_name = key.lower().replace("-", "_")
        form_name = plural.get(form_name, form_name)
        existing = fields.get(form_name)
        if existing is None:
            fields[form_name] = value
        else:
            fields[form_name] = [*(existing if isinstance(existing, list) else [existing]), value]
    return fields


def _record(files: dict[str, bytes], dist_info: str) -> bytes:
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}")
    lines.append(f"{dist_info}/RECORD,,")
    return ("\n".join(lines) + "\n").encode()


def wheel(
    name: str = "holy-grail",
    version: str = "1.0",
    *,
    metadata_version: str = "2.1",
    headers=(),
    tag: str = "py3-none-any",
    filename: str | None = None,
    extra_files: dict[str, bytes] | None = None,
    omit: tuple[str, ...] = (),
    metadata: str | None = None,
    form_headers=None,
) -> Dist:
    """A wheel named as build tools name it; ``omit`` drops dist-info files ("RECORD"...)."""
    stem = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    dist_info = f"{stem}.dist-info"
    if metadata is None:
        metadata = metadata_text(name, version, metadata_version, headers)
    files = {
        f"{canonicalize_name(name).replace('-', '_')}/__init__.py": b"",
        **(extra_files or {}),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        + f"Tag: {tag}\n".encode(),
    }
    files = {path: data for path, data in files.items() if path.rsplit("/", 1)[-1] not in omit}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if "RECORD" not in omit:
            files[f"{dist_info}/RECORD"] = _record(files, dist_info)
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=_EPOCH), data, zipfile.ZIP_DEFLATED)
    return Dist(
        filename=filename or f"{stem}-{tag}.whl",
        content=buffer.getvalue(),
        filetype="bdist_wheel",
        pyversion=tag.split("-")[0],
        fields=form_fields(
            name, version, metadata_version, headers if form_headers is None else form_headers
        ),
    )


def sdist(
    name: str = "holy-grail",
    version: str = "1.0",
    *,
    metadata_version: str = "2.1",
    headers=(),
    filename: str | None = None,
    top: str | None = None,
    extra_files: dict[str, bytes] | None = None,
    members: list[tarfile.TarInfo] | None = None,
    description: str = "",
) -> Dist:
    """An sdist with one top-level directory holding PKG-INFO; ``members`` adds raw entries."""
    stem = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    top = top or stem
    files = {
        f"{top}/PKG-INFO": metadata_text(
            name, version, metadata_version, headers, description
        ).encode(),
        f"{top}/pyproject.toml": b"[project]\n",
        **(extra_files or {}),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in members or []:
            archive.addfile(info)
    return Dist(
        filename=filename or f"{stem}.tar.gz",
        content=gzip.compress(buffer.getvalue(), mtime=0),
        filetype="sdist",
        pyversion="source",
        fields=form_fields(name, version, metadata_version, headers),
    )
