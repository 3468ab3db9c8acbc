"""PyPI's JSON API (``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json``).

Not a standard, but poetry, bandersnatch and many tools read it. Field names and shapes follow
``warehouse/legacy/api/json.py``.

Rendered once per change (:func:`stored`): a document is kept in the page tree under a key made
of what it depends on besides its rows (the project's serial, which every change moves, its
critical designation, which changes without one, and the base URL in its links), so every
process of a server serves the same bytes until the key moves, and a request costs two small
queries instead of a render.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from hashlib import sha256
from pathlib import Path

from django.conf import settings
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

from bastion import datadir
from bastion.critical.selectors import json_api_fields
from bastion.packaging.models import File, Project, ProjectStatus, Release, RoleName
from bastion.simple import services
from bastion.simple.pagecache import PageCache
from bastion.simple.pagefiles import exclusive, write_atomic
from bastion.simple.render import file_url, upload_time

_DEPRECATED_DOWNLOADS = {"last_day": -1, "last_week": -1, "last_month": -1}
#: This process's copies of stored documents (each is also on disk), bounded by their bytes.
_memory = PageCache(max_bytes=16 * 1024 * 1024)


@dataclass(frozen=True)
class Stored:
    body: bytes
    etag: str
    serial: int


def stored(normalized_name: str, version: str | None = None) -> Stored | None:
    """The document's bytes as served, rendered only when its key has moved since the last
    render; None for an unknown (or quarantined) project or version."""
    found = (
        Project.objects.exclude(status=ProjectStatus.QUARANTINED)
        .filter(normalized_name=normalized_name)
        .values_list("last_serial", "created")
        .first()
    )
    if found is None:
        return None
    serial, created = found
    directory = _directory(normalized_name, version)
    if directory is None:
        return None  # not a version at all, so no release has it
    key = json.dumps([serial, created.isoformat(), json_api_fields(normalized_name)])
    path = directory / f"{sha256(f'{key} {settings.BASE_URL}'.encode()).hexdigest()[:32]}.json"
    page = _memory.get(str(path))
    if page is not None:
        return Stored(page.body, page.etag, serial)
    current = document(normalized_name, version)
    if current is None:
        return None
    body = json_bytes(current)
    _keep(path, body)
    return Stored(body, f'"{sha256(body).hexdigest()}"', serial)


def json_bytes(document: dict) -> bytes:
    """A document as served (``json.dumps``' defaults, as PyPI's are)."""
    return json.dumps(document).encode()


def document(normalized_name: str, version: str | None = None) -> dict | None:
    """The JSON document, or None for an unknown (or quarantined) project or version.

    Without ``version`` it describes the latest release and lists all ``releases``.
    """
    project, releases = _project_and_releases(normalized_name)
    if project is None:
        return None
    if version is None:
        release = latest(releases)
    else:
        wanted = canonicalize_version(version)
        release = next((r for r in releases if r.canonical_version == wanted), None)
    if release is None:
        return None
    return _document(project, releases, release, listing=version is None)


def every_document(normalized_name: str) -> Iterator[tuple[str | None, dict]]:
    """The project's document (version None) and each release's, reading the rows once."""
    project, releases = _project_and_releases(normalized_name)
    newest = latest(releases)
    if project is None or newest is None:
        return
    yield None, _document(project, releases, newest, listing=True)
    for release in releases:
        yield release.version, _document(project, releases, release, listing=False)


def _project_and_releases(normalized_name: str) -> tuple[Project | None, list[Release]]:
    project = (
        Project.objects.exclude(status=ProjectStatus.QUARANTINED)
        .filter(normalized_name=normalized_name)
        .first()
    )
    if project is None:
        return None, []
    return project, list(project.releases.prefetch_related("files"))


def _document(project: Project, releases: list[Release], release: Release, listing: bool) -> dict:
    result = {
        "info": _info(project, release),
        "last_serial": project.last_serial,
        "urls": [_file(file, release) for file in release.files.all()],
        "vulnerabilities": [],
        "ownership": _ownership(project),
    }
    if listing:
        ordered = sorted(releases, key=lambda r: Version(r.version))
        result["releases"] = {r.version: [_file(f, r) for f in r.files.all()] for r in ordered}
    return result


def latest(releases: list[Release]) -> Release | None:
    """PyPI's choice: not yanked first, then final over pre-release, then the highest version."""

    def rank(release: Release):
        parsed = Version(release.version)
        return (not release.yanked, not parsed.is_prerelease, parsed)

    return max(releases, key=rank, default=None)


def _info(project: Project, release: Release) -> dict:
    project_url = f"{settings.BASE_URL}/project/{project.normalized_name}/"
    return {
        "name": project.name,
        "version": release.version,
        "summary": release.summary,
        "description": release.description,
        "description_content_type": release.description_content_type or None,
        "keywords": release.keywords,
        "license": release.license,
        "license_expression": release.license_expression or None,
        "license_files": release.license_files or None,
        "classifiers": release.classifiers,
        "author": release.author,
        "author_email": release.author_email,
        "maintainer": release.maintainer,
        "maintainer_email": release.maintainer_email,
        "requires_python": release.requires_python or None,
        "requires_dist": release.requires_dist or None,
        "provides_extra": release.provides_extra or None,
        "dynamic": release.dynamic or None,
        "platform": ", ".join(release.platform) or None,
        "home_page": release.home_page or None,
        "download_url": release.download_url or None,
        "project_urls": release.project_urls or None,
        "package_url": project_url,
        "project_url": project_url,
        "release_url": f"{project_url}{release.version}/",
        "docs_url": None,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason or None,
        "bugtrack_url": None,
        "downloads": _DEPRECATED_DOWNLOADS,
        **json_api_fields(project.normalized_name),
    }


def _file(file: File, release: Release) -> dict:
    """A file as PyPI describes it. The URL is absolute: JSON API clients rarely resolve."""
    return {
        "filename": file.filename,
        "url": settings.BASE_URL + file_url(file.path),
        "packagetype": file.packagetype,
        "python_version": file.python_version,
        "requires_python": file.requires_python or release.requires_python or None,
        "size": file.size,
        "digests": {
            "md5": file.md5_digest,
            "sha256": file.sha256_digest,
            "blake2b_256": file.blake2_256_digest,
        },
        "md5_digest": file.md5_digest,
        "upload_time": file.upload_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": upload_time(file.upload_time),
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason or None,
        "core-metadata": (
            {"sha256": file.metadata_sha256_digest} if file.metadata_sha256_digest else False
        ),
        "comment_text": file.comment_text,
        "has_sig": False,
        "downloads": -1,
    }


def _ownership(project: Project) -> dict:
    roles = project.roles.select_related("user").order_by("user__username")
    owners_first = sorted(roles, key=lambda role: role.role_name != RoleName.OWNER)
    return {
        "roles": [{"role": role.role_name, "user": role.user.username} for role in owners_first],
        "organization": None,
    }


def _directory(normalized_name: str, version: str | None) -> Path | None:
    """``pypi/<name>/`` in the live tree, or ``pypi/<name>/<canonical version>/``."""
    directory = services.pages_root().parent / "pypi" / normalized_name
    if version is None:
        return directory
    try:
        Version(version)
    except InvalidVersion:
        return None
    return directory / canonicalize_version(version)


def _keep(path: Path, body: bytes) -> None:
    """Write the document under its key and remove the documents of older keys beside it."""
    datadir.make_public_dirs(path.parent)
    with exclusive(path.parent):
        write_atomic(path, body)
        for older in path.parent.glob("*.json"):
            if older != path:
                older.unlink(missing_ok=True)
