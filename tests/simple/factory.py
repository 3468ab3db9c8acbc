"""Building projects, releases and files straight through the models, as an upload would.

Each builder stores bytes the way the upload path does (``packaging.storage``) and records the
change with ``packaging.services.journal``, so serials move and, once the surrounding transaction
commits, ``project_changed`` fires.
"""

import hashlib
from datetime import UTC, datetime

from packaging.utils import canonicalize_version
from packaging.version import Version

from bastion.packaging.models import File, PackageType, Project, ProjectStatus, Release, Role
from bastion.packaging.services import journal
from bastion.packaging.storage import key_for, store_bytes
from tests import factories


def make_project(
    name: str = "Holy_Grail", *, status: str = ProjectStatus.ACTIVE, status_reason: str = ""
) -> Project:
    """:func:`tests.factories.make_project`, journalled so the serial moves."""
    project = factories.make_project(name, status=status, status_reason=status_reason)
    journal(project, "create")
    return project


def make_release(
    project: Project,
    version: str = "1.0",
    *,
    yanked: bool = False,
    yanked_reason: str = "",
    **metadata,
) -> Release:
    parsed = Version(version)
    release = Release.objects.create(
        project=project,
        version=str(parsed),
        canonical_version=canonicalize_version(version),
        is_prerelease=parsed.is_prerelease,
        metadata_version="2.4",
        yanked=yanked,
        yanked_reason=yanked_reason,
        **metadata,
    )
    journal(project, "new release", version=release.version)
    return release


def metadata_for(release: Release) -> bytes:
    lines = [
        "Metadata-Version: 2.4",
        f"Name: {release.project.name}",
        f"Version: {release.version}",
    ]
    if release.requires_python:
        lines.append(f"Requires-Python: {release.requires_python}")
    return ("\n".join(lines) + "\n\nA description with ünïcode.\n").encode()


def make_file(
    release: Release,
    filename: str | None = None,
    *,
    content: bytes | None = None,
    metadata: bytes | None = None,
    upload_time: datetime | None = None,
) -> File:
    """Store a file (a wheel by default, with its METADATA served as ``.metadata``)."""
    project = release.project
    stem = f"{project.normalized_name.replace('-', '_')}-{release.version}"
    filename = filename or f"{stem}-py3-none-any.whl"
    content = content if content is not None else f"bytes of {filename}\n".encode() * 40
    wheel = filename.endswith(".whl")
    blake2 = hashlib.blake2b(content, digest_size=32).hexdigest()
    key = key_for(blake2, filename)
    store_bytes(key, content)
    metadata_fields = {}
    if wheel:
        metadata = metadata if metadata is not None else metadata_for(release)
        store_bytes(key + ".metadata", metadata)
        metadata_fields = {
            "metadata_path": key + ".metadata",
            "metadata_sha256_digest": hashlib.sha256(metadata).hexdigest(),
        }
    file = File.objects.create(
        release=release,
        filename=filename,
        packagetype=PackageType.BDIST_WHEEL if wheel else PackageType.SDIST,
        python_version="py3" if wheel else "source",
        requires_python=release.requires_python,
        size=len(content),
        sha256_digest=hashlib.sha256(content).hexdigest(),
        blake2_256_digest=blake2,
        md5_digest=hashlib.md5(content).hexdigest(),  # noqa: S324 - PyPI's legacy field
        path=key,
        upload_time=upload_time or datetime.now(UTC),
        **metadata_fields,
    )
    journal(project, "add file", version=release.version)
    return file


def add_role(project: Project, user, role_name: str) -> Role:
    role = Role.objects.create(project=project, user=user, role_name=role_name)
    journal(project, "add role", user=user)
    return role
