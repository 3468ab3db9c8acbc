from datetime import timedelta

import pytest
from django.utils import timezone
from packaging.utils import canonicalize_version

from bastion.critical.models import Designation
from bastion.mfa.models import TOTPDevice
from bastion.packaging.models import Dependency, Project, Release, Role, RoleName


@pytest.fixture
def make_project(db):
    """A hosted project with roles, and optionally releases with runtime dependencies."""

    def make(name, *, owners=(), maintainers=(), releases=None):
        project = Project.objects.create(name=name, normalized_name=name.lower())
        for user in owners:
            Role.objects.create(user=user, project=project, role_name=RoleName.OWNER)
        for user in maintainers:
            Role.objects.create(user=user, project=project, role_name=RoleName.MAINTAINER)
        for version, spec in (releases or {}).items():
            add_release(project, version, **spec)
        return project

    return make


def add_release(project, version, *, requires=(), extras=(), yanked=False):
    release = Release.objects.create(
        project=project,
        version=version,
        canonical_version=canonicalize_version(version),
        metadata_version="2.4",
        yanked=yanked,
    )
    for name in requires:
        Dependency.objects.create(release=release, name=name)
    for name in extras:
        Dependency.objects.create(release=release, name=name, extra_only=True)
    return release


@pytest.fixture
def designate(db):
    """Designate a name directly; ``enforced`` puts its enforcement date in the past."""

    def make(name, *, enforced=True):
        today = timezone.localdate()
        return Designation.objects.create(
            normalized_name=name,
            kind="admin",
            reason={"kind": "admin", "admin": "root", "note": "test"},
            enforcement_date=today - timedelta(days=1) if enforced else today + timedelta(days=20),
        )

    return make


@pytest.fixture
def enroll_totp():
    def enroll(user):
        return TOTPDevice.objects.create(user=user, encrypted_secret="not-used-by-the-gate")

    return enroll
