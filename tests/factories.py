"""The one set of test builders: projects with their people, releases (with stored files and
dependencies, and a file's provenance), a user with an authenticator app, and critical designations.

Plain functions, so tests, fixtures and other builders (``tests.simple.factory``) share them;
``tests/conftest.py`` offers the common ones as fixtures too.
"""

import hashlib
import time
from collections.abc import Iterable
from datetime import timedelta

import pyotp
from django.utils import timezone
from packaging.utils import canonicalize_version
from packaging.version import Version

from bastion.critical.models import Designation
from bastion.events.services import Origin
from bastion.mfa import services as mfa
from bastion.mfa import totp
from bastion.packaging import storage
from bastion.packaging.models import (
    Dependency,
    File,
    FilenameReservation,
    Project,
    ProjectStatus,
    Release,
    Role,
    RoleName,
)
from bastion.packaging.services import normalize
from bastion.publishing.models import Provenance

ORIGIN = Origin(ip_address="198.51.100.7", user_agent="pytest")


def make_project(
    name: str = "Spam",
    *,
    owners: Iterable = (),
    maintainers: Iterable = (),
    versions: Iterable[str] = (),
    releases: dict[str, dict] | None = None,
    status: str = ProjectStatus.ACTIVE,
    status_reason: str = "",
    requires_two_factor: bool = False,
) -> Project:
    """A hosted project with its Owners and Maintainers, and a release with one stored sdist for
    each of ``versions``; ``releases`` maps more versions to :func:`add_release`'s keywords."""
    project = Project.objects.create(
        name=name,
        normalized_name=normalize(name),
        status=status,
        status_reason=status_reason,
        requires_two_factor=requires_two_factor,
    )
    for user in owners:
        Role.objects.create(user=user, project=project, role_name=RoleName.OWNER)
    for user in maintainers:
        Role.objects.create(user=user, project=project, role_name=RoleName.MAINTAINER)
    for version in versions:
        add_release(project, version, f"{project.normalized_name}-{version}.tar.gz")
    for version, spec in (releases or {}).items():
        add_release(project, version, **spec)
    return project


def add_release(
    project: Project,
    version: str = "1.0",
    *filenames: str,
    requires: Iterable[str] = (),
    extras: Iterable[str] = (),
    **metadata,
) -> Release:
    """A release with a stored file (real bytes, as an upload leaves them) for each of
    ``filenames``, and the runtime (``requires``) and extra-only (``extras``) dependencies."""
    release = Release.objects.create(
        project=project,
        version=version,
        canonical_version=canonicalize_version(version),
        is_prerelease=Version(version).is_prerelease,
        metadata_version="2.4",
        **metadata,
    )
    for filename in filenames:
        add_file(release, filename)
    for name in requires:
        Dependency.objects.create(release=release, name=name)
    for name in extras:
        Dependency.objects.create(release=release, name=name, extra_only=True)
    return release


def add_file(release: Release, filename: str) -> File:
    content = f"{filename} bytes".encode()
    blake2 = hashlib.blake2b(content, digest_size=32).hexdigest()
    key = storage.key_for(blake2, filename)
    storage.store_bytes(key, content)
    wheel = filename.endswith(".whl")
    file = File.objects.create(
        release=release,
        filename=filename,
        packagetype="bdist_wheel" if wheel else "sdist",
        python_version="py3" if wheel else "source",
        size=len(content),
        sha256_digest=hashlib.sha256(content).hexdigest(),
        blake2_256_digest=blake2,
        md5_digest=hashlib.md5(content).hexdigest(),  # noqa: S324 - PyPI's legacy field
        path=key,
        upload_time=timezone.now(),
    )
    FilenameReservation.objects.create(
        filename=filename, project_name=release.project.normalized_name
    )
    return file


def attest(file: File, **claims) -> Provenance:
    """The provenance row an upload with verified attestations leaves (its attestations are not
    real: tests/publishing/assets has real ones)."""
    repository = claims.setdefault("repository", "octo/widget")
    return Provenance.objects.create(
        file=file,
        kind="github",
        publisher_object={"kind": "GitHub", "repository": repository, "workflow": "release.yml"},
        attestations=[],
        source_url=f"https://github.com/{repository}",
        claims=claims,
    )


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def enrol_totp(user, at: float | None = None) -> str:
    """Give ``user`` an authenticator app, as the enrolment page does (recovery codes, event and
    mail included); returns its secret. The confirming code is spent."""
    secret = totp.new_secret()
    at = time.time() - 30 if at is None else at
    mfa.confirm_totp(user, secret=secret, code=code_at(secret, at), origin=ORIGIN)
    return secret


def designate(name: str, *, enforced: bool = True) -> Designation:
    """Designate a name critical directly; ``enforced`` puts its enforcement date in the past,
    otherwise it is 20 days away (a grace period running)."""
    today = timezone.localdate()
    return Designation.objects.create(
        normalized_name=normalize(name),
        kind="admin",
        reason={"kind": "admin", "admin": "root", "note": "test"},
        enforcement_date=today - timedelta(days=1) if enforced else today + timedelta(days=20),
    )
